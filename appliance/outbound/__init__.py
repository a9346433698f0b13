"""Calls the appliance places itself: appointment reminders (by call or SMS), durable like the outbox."""
