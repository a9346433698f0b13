"""English: every word the receptionist reads and says in English, in one place."""

from __future__ import annotations

import re

from . import LanguagePack

RELATIVES = (
    r"(?:daughter|son|wife|husband|mother|mom|mum|father|dad|child|kid|partner|grandmother|grandfather|"
    r"grandson|granddaughter|baby|brother|sister)"
)

PACK = LanguagePack(
    code="en",
    common_words="i i'd i'm want would like appointment the to my is yes please book tomorrow next can you it "
    "need with and at on this what your hello hi thanks thank cancel message doctor of for we we'd we're our "
    "um uh looking company",
    intents=(
        (
            "emergency",
            r"emergency|chest pains?|can'?t breathe|cannot breathe|trouble breathing|not breathing|"
            r"bleeding (?:a lot|heavily|badly)|heart attack|stroke|unconscious|overdose|suicid|fainted|passed out|"
            r"collapsed|seizure|choking|struggling to breathe|(?:is|he's|she's) not breathing|breathing (?:badly|very badly)",
        ),
        (
            "human",
            r"(?:speak|talk) (?:to|with) (?:a |an |the )?(?:human|person|someone|somebody|receptionist|"
            r"operator|staff|nurse|real)|real person|live person|somebody real|someone real|human\b|"
            r"receptionist|operator|front desk|transfer me|agent|put me through|"
            r"(?:speak|talk) (?:to|with) (?:a |an |the )?(?:manager|practice manager|office manager|supervisor|billing)|"
            r"(?:speak|talk) (?:to|with) (?:the |a |my )?(?:doctor|dr\.?|nurse|dentist)\b.*?\b(?:directly|in person|personally|myself|it's personal)",
        ),
        (
            "frustrated",
            r"ridiculous|useless|stupid|not listening|don'?t understand me|not helping|this is crazy|"
            r"waste of (?:my )?time|frustrat|annoying",
        ),
        (
            "reschedule",
            r"reschedul|re-schedul|move (?:my|the|it)|push (?:back )?(?:my|the|it)|change (?:my|the) (?:appointment|time)|"
            r"(?:a )?different (?:day|time|date)|another (?:day|time|date)|(?:a )?(?:later|earlier) (?:time|slot|appointment)|"
            r"(?:can|could) (?:we|you|i) (?:change|move|switch) (?:it|that)|"
            r"(?:need|want|have|like) to (?:change|move|switch) (?:it|that|my appointment|the appointment)",
        ),
        (
            "order_cancel",
            r"(?:cancel|call off|scrap|ditch|get rid of|stop)\b[^.?!]{0,30}?\border\b|\brefund|money back|"
            r"don'?t want (?:my|the|this) order",
        ),
        (
            "cancel",
            r"cancel|call off|can'?t (?:make it|come|attend)|cannot (?:make it|come|attend)|won'?t (?:make it|be able to)|"
            r"(?:drop|remove|delete|clear|scratch|scrap|ditch) (?:my|the|that|it|our|an appointment)(?! (?:time|day|date|number|name))|"
            r"get rid of (?:my|the|it|that|an?|this|her|his|our)\b|take me off|not (?:be )?(?:able to )?(?:come|make it)|"
            r"(?:don'?t|do not|no longer) need (?:my|the|that) (?:appointment|booking)",
        ),
        ("payment", r"pay(?:ment)?(?: link)?|settle (?:my|the) bill|invoice|pay online"),
        (
            "order_status",
            r"order (?:status|number)|my order|status of (?:the |my )?order|where is my (?:order|package|parcel)|track",
        ),
        (
            "sms",
            r"text me|send me (?:a |an )?(?:text|sms|message with)|by text|by sms|"
            r"\btext (?:it|that|them|this|her|him|us|my \w+)\b(?! (?:message|messages)\b)",
        ),
        (
            "callback",
            r"call (?:me )?back|callback|(?:ring|phone) me\b|(?<!you can )(?<!you could )call me\b(?! (?:at|on)\b)|get back to me",
        ),
        (
            "message",
            r"leave (?:a )?(?:message|word|note)|leave something for|take (?:a )?message|pass (?:on )?(?:a )?(?:message|note|word)|"
            r"give (?:him|her|them) a message|leave word|(?:get|give|pass|send) (?:a )?(?:message|word|note) (?:to|for)\b|"
            r"tell (?:dr\.?|doctor|the (?:doctor|nurse|dentist)|him|her|nurse)|"
            r"let (?:dr\.?|doctor|nurse|the (?:doctor|nurse|dentist)|him|her|them) \w* ?know",
        ),
        (
            "book",
            r"\bbook|appointment|schedule|see (?:the |a )?(?:doctor|dentist|nurse|hygienist|somebody|someone)|"
            r"check-?up|physical|cleaning|consultation|come in|get in\b|make a reservation|get an? (?:slot|visit)|"
            r"openings\b|(?:any|an) opening\b|availability|fever|sick|cough|rash|infection|hurts",
        ),
        (
            "lead",
            r"quote|pricing|interested in|your services|proposal|estimate|partnership|demo|"
            r"we(?:'re| are) looking for (?:a |an |someone)|we need (?:a |an |some |help)|we want (?:a |an )|"
            r"(?:build|redo|redesign|refresh) (?:our|my|a) |looking for help|need help with|help with (?:our|my)|"
            r"(?:manage|run|handle) (?:our|my) (?:instagram|tiktok|facebook|social|ads|online)|instagram|tiktok|"
            r"(?:our|my|a new) (?:website|web site|online store|app|logo|brand|marketing|seo|ads)\b|"
            r"\b(?:seo|social media marketing|google ads|online ads|online advertising|web design|ad campaign|"
            r"(?:app|digital|content|email) marketing|websites?|launch campaign|marketing campaign|branding|advertising)\b",
        ),
        (
            "goodbye",
            r"\bbye\b|goodbye|that'?s all|that is all|nothing else|no thanks|have a (?:good|nice) day|"
            r"(?:i think )?i'?m (?:all )?(?:done|set|good)(?: for (?:now|today))?$|that'?ll be all|that will be all|"
            r"that'?s (?:it|everything)(?: for (?:now|today))?$|we'?re (?:done|good)$",
        ),
    ),
    yes=r"yes|yeah|yep|yup|sure|correct|right|that'?s right|ok|okay|please do|go ahead|sounds good|perfect|"
    r"absolutely|of course|that works|fine|great|confirm|uh-? ?huh|mm-? ?hmm|book it|go for it|all good|"
    r"exactly|definitely|lovely|brilliant|spot on",
    no=r"no|nope|nah|not|wrong|incorrect|don'?t|actually|wait|change",
    weekdays=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    months="january february march april may june july august september october november december",
    relative_days=((r"day after tomorrow", 2), (r"tomorrow", 1), (r"today|this (?:morning|afternoon|evening)", 0)),
    next_week=r"next week",
    parts_of_day=(
        ("morning", r"morning|(?:first|1st) thing"),
        ("afternoon", r"afternoon"),
        ("evening", r"evening|after work"),
    ),
    first_thing=r"(?:first|1st) thing",  # when the office opens
    half_hours=(
        (r"half past (\d{1,2})", 30, 0),
        (r"quarter past (\d{1,2})", 15, 0),
        (r"quarter to (\d{1,2})", 45, -1),
        (r"\bhalf (\d{1,2})\b", 30, 0),  # British "half ten" is 10:30
    ),
    minutes=(
        (r"\b(?P<m>\d{1,2}) (?:minutes )?to (?P<h>\d{1,2})\b(?! ?(?:days?|weeks?|[ap]m))", True),
        (r"\b(?P<m>\d{1,2}) (?:minutes )?past (?P<h>\d{1,2})\b", False),
    ),
    articles=None,
    day_of_month=re.compile(
        r"\b(?:the |on )(?P<d>\d{1,2})(?:st|nd|rd|th)\b(?! (?:1|one|option|time|slot|choice)\b)(?: of (?:(?P<next>next)|this) month)?"
        r"|\b(?P<d2>\d{1,2})(?:st|nd|rd|th) of (?:(?P<next2>next)|this) month"
    ),
    relatives=RELATIVES,
    name_intro=r"(?:my name is|my name's|name is|name's|this is|(?:the appointment|the booking|the visit) is for|"
    r"it's|it is|i am|i'm|the name is|under the name|patient is|"
    rf"(?:it's |it is |that's )?for my {RELATIVES}|my {RELATIVES}(?:'s name)? is|"
    rf"of my {RELATIVES}|same name|under (?:my |the |his |her )?(?:{RELATIVES}'s )?name(?: of)?)",
    ordinals=("first|1st|earliest|former", "second|2nd|latter|other one|last one"),
    birth_cues=r"born(?: on)?|date of birth|birth ?date|d\.? ?o\.? ?b\.?|birthday(?: is)?",
    corrections=r"actually|instead|no wait|wait|sorry|i mean|make it|change (?:it|that)(?: to)?|rather|or rather|"
    r"not (?:like )?that|scratch that",
    bare_hour_cues=r"make it|change it to|change that to|move it to|how about|what about|rather|instead at",
    negated_day=r"\bnot (?:on )?(?:the )?(?=[a-z])",
    rejected=r"rather than|instead of",
    # a reason, or a habit ("on Tuesdays I work late"): not the day asked for
    reason=r"because|'cause|cause|since|(?:on )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s",
    backchannels=r"uh huh|uh uh|mm hmm|mhm|mm|m|hmm|okay|ok|yeah|yes|yep|right|sure|i see|got it|alright|all right|oh|ah|um|uh|great|cool|perfect|thanks|thank you",
    interrupts=r"no|nope|stop|wait|sorry|excuse me|hold on|hang on|hello|what|pardon",
    day_words="monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|today",
    lead_need=r"\b(?:we need|i need|we're looking for|we are looking for|looking for|we want|i want|we'd like|i'd like|"
    r"quote for|estimate for|interested in|help with|calling about|calling regarding|thinking (?:about|of)|"
    r"planning (?:a|an|to)|(?:can|could) you (?:build|make|design|do|help|create|run|manage)|do you (?:do|build|make)|"
    r"we'?re after|would love|we want to|i want to|looking to|about (?:a|an|getting|building|redoing))\b",
    lead_company=r"\b(?:from|at|company is|company's|business is|we're|we are|called|i run|i own)\s+"
    r"(?P<c>(?:[A-Z0-9][\w&'.-]*)(?:\s+(?:[A-Z0-9&][\w&'.-]*|and|of|the|et|y|de))*)",
    shift_weeks=r"\b(?:push|move|put|bump|shift)(?: it| that| my appointment| the appointment)?(?: back| forward| out| on)?"
    r"(?: by)? (?P<n>a|one|1|two|2|a couple of) weeks?\b|\b(?P<n2>a|one|1|two|2) weeks? later\b",
    currencies=(
        ("dólares", "dollars"),
        ("dólar", "dollar"),
        ("livres", "pounds"),
        ("libras", "pounds"),
        ("dírhams", "dirhams"),
    ),
    company_named=r"\b(?:the|our|my) (?:company|business|firm|agency|shop|store)(?:'s name| name)?"
    r"(?:\s*,\s*(?:it'?s|it is)|\s+is called|\s+is|'s)\s+",
    lead_timeline=r"\b(?:start|begin|launch|kick off|go live|(?:it|be) live|up and running|ready|done|finished)\b[^,.;]*",
    lead_when=r"\b(?:asap|as soon as|soon|right away|immediately|next|this (?:week|month|year|quarter|spring|summer|fall|autumn|winter)|weeks?|months?|years?|quarter|spring|summer|fall|autumn|winter|by|before|after|end of|beginning of|early|late|mid)\b",
    lead_decides=r"\b(?:(?:me and my|my \w+ and i)\b[^.;]*\b(?:decide|make the (?:call|decisions?))|we (?:both )?decide|i can sign (?:off|it)|i sign off|(?:one of the )?co-?founders?|co-?owner|i'm the owner|i am the owner|i own|it's my call|it's my decision|i decide|i make the decisions?|"
    r"i'm the decision maker|i'm the (?:one|1) who decides|i'm the (?:founder|ceo|boss|director|manager|president))\b",
    lead_does_not_decide=r"\b(?:not the (?:decision maker|(?:one|1) who decides|owner)|"
    r"my (?:boss|manager|partner|mother|mom|father|dad|wife|husband) (?:decides|owns it|has the final say)|"
    r"(?:need|have) to (?:check|run it by)|not my (?:call|decision)|"
    r"(?:my|the|our) (?:boss|manager|owner|director|partner|board|ceo|committee) (?:signs|approves|makes the call|decides)|"
    r"i(?:'d| would) (?:make|give) (?:the|a) recommendation|"
    r"not the final say|(?:don't|do not) have the final say)\b",
    message_cues=re.compile(
        r"\b(?:tell|let|message|word|note)\b.*?\b(?:that|know|saying|say|:)\s+(?P<m>.+)$"
        r"|\btell (?:him|her|them|the (?:doctor|nurse|dentist)|dr\.? \w+|doctor \w+|nurse \w+|\w+)\s+(?P<m2>.+)$",
        re.I,
    ),
    message_about=re.compile(
        r"\b(?:(?:it'?s|it is|this is|that'?s) )?(?:about|regarding|concerning|in regards? to)\s+(?P<m>.+)$", re.I
    ),
    templates={
        "greeting": "Thank you for calling {business}. How can I help you today?",
        "anything_else": "Is there anything else I can help you with?",
        "not_understood": "Sorry, I didn't catch that. Could you say it another way?",
        "transfer": "Let me put you through to a member of our team. Please hold.",
        "transfer_frustrated": "I'm sorry about that. Let me put you through to a member of our team. Please hold.",
        "transfer_confused": "I'm sorry, I'm having trouble understanding. Let me put you through to a member of our team.",
        "emergency": "If this is a medical emergency, please hang up and dial {emergency} now. I'm also putting you through to our staff.",
        "goodbye": "Thank you for calling {business}. Goodbye!",
        "still_there": "Are you still there?",
        "silence_goodbye": "I can't hear you, so I'll end the call now. Please call back any time. Goodbye.",
        "time_limit": "I'm sorry, we have reached the time limit for this call. Please call back. Goodbye.",
        "handover": "A call for you from {who}. They said: {said} I'm connecting you now.",
        "handover_anonymous": "a caller whose number is hidden",
        "transfer_failed": "I'm sorry, no one is available right now. I can take a message. May I have your name?",
        "ask_when": "When would you like to come in?",  # piper's "day and time" is heard as "day in time"
        "offer": "{lead}I can offer {options}. Which would you prefer?",
        "offer_one": "{lead}The nearest free time is {options}. Would that work?",
        "lead_taken": "{requested} is already taken. ",
        "lead_closed": "We're closed on {weekday}s. ",
        "lead_outside": "We're not open then. ",
        "lead_past": "That time has already passed. ",
        "lead_too_far": "We only book up to {days} days ahead. ",
        "lead_unknown_provider": "We don't have {provider} here; you can see {providers}. ",
        "no_slots": "I'm sorry, I have no free time in the coming weeks. I can take a message for our staff. May I have your name?",
        "ask_name": "May I have your full name, please?",
        "ask_phone": "What's the best phone number to reach you?",
        "ask_phone_caller_id": "Can we reach you on the number you're calling from?",
        "phone_invalid": "Sorry, that number doesn't look complete. Could you say it again, digit by digit?",
        "ask_dob": "And your date of birth, please?",
        "ask_reminder_consent": "Would you like a reminder {channel} before your appointment?",
        "with_reminder": "with a reminder {channel}",
        "without_reminder": "no reminder",
        "by_call": "by phone call",
        "by_sms": "by text message",
        "by_whatsapp": "on WhatsApp",
        "confirm_booking": "So that's {what} on {when}, for {name}{details}. Shall I book it?",
        "born": "date of birth {date}",
        "reach": "reachable {to_phone}",
        "booked": "You're booked {what} on {when}. Is there anything else I can help you with?",
        "slot_gone": "Sorry, that time was just taken. ",
        "ask_change": "No problem. What would you like to change?",
        "ask_old_when": "Which day is your current appointment?",
        "confirm_cancel": "I found the appointment for {name} on {when}. Shall I cancel it?",
        "cancelled": "Your appointment on {when} is cancelled. Is there anything else I can help you with?",
        "not_found": "I couldn't find an appointment for {name} on that day. Would you like to leave a message for our staff?",
        "kept": "All right, I haven't changed anything. Is there anything else I can help you with?",
        "ask_new_when": "When would you like to come in instead?",
        "confirm_reschedule": "So I'll move the appointment for {name} from {old} to {new}. Is that right?",
        "rescheduled": "Done. Your appointment is now on {new}. Is there anything else I can help you with?",
        "ask_message": "What message would you like to leave?",
        "message_taken": "Thank you, {name}. I'll pass your message on{recipient} and someone will get back to you. Is there anything else?",
        "to_recipient": " to {recipient}",
        "ask_callback_when": "When is a good time to call you back?",
        "callback_scheduled": "Thank you, {name}. We'll call you back {when}. Is there anything else?",
        "callback_asap": "as soon as we can",
        "person_unavailable": "{person} can't come to the phone right now. Would you like to leave a message?",
        "unknown_answer": "I'm sorry, I don't know that. I can take a message for our staff. Would you like that?",
        "hours": "We're open {hours}.",
        "closed_all": "We don't have opening hours on file; I can take a message for our staff.",
        "address": "We're at {address}.",
        "price": "{service} costs {price}.",
        "confirm_sms": "I'll text {what} {to_phone}. Is that right?",
        "confirm_contact": "Thank you, {name}. We'll reach you {to_phone}. Shall I pass it on?",
        "confirm_message": "Thank you, {name}. I'll pass on{recipient}: \"{message}\", and we'll reach you {to_phone}. Shall I send it?",
        "confirm_callback": "Thank you, {name}. We'll call you back {when} {to_phone}. Is that right?",
        "from_company": "{name} from {company}",
        "to_phone": "at {phone}",
        "to_caller_id": "on the number you're calling from",
        "sms_sent": "Done, it's on its way. Is there anything else?",
        "sms_address": "our address",
        "sms_hours": "our opening hours",
        "ask_need": "Happy to help. What are you looking for?",
        "ask_company": "What's the name of your company?",
        "ask_budget": "Do you have a budget in mind?",
        "ask_timeline": "When would you like to get started?",
        "ask_authority": "Are you the one who makes the decision?",
        "lead_done": "Thank you, {name}. Someone from our team will call you back shortly. Is there anything else?",
        "ask_order": "What is your order number?",
        "order_status": "Order {number} is {status}. Is there anything else?",
        "orders_unavailable": "I can't reach our order system right now. I can take a message and someone will call you back. May I have your name?",
        "order_state_unfulfilled": "paid and being prepared",
        "order_state_in_progress": "being prepared",
        "order_state_partially_fulfilled": "partly shipped",
        "order_state_fulfilled": "shipped",
        "order_state_on_hold": "on hold",
        "order_state_cancelled": "cancelled",
        "order_state_refunded": "refunded",
        "order_state_unpaid": "waiting for payment",
        "confirm_order_cancel": "I'll cancel order {number}{refund}. Shall I go ahead?",
        "order_refund": " and refund {amount} to the card you paid with",
        "order_cancelled": "Done, order {number} is cancelled{refunded}. You'll get an e-mail from the shop. Is there anything else?",
        "order_refunded": "; the refund goes back to the card you paid with",
        "order_kept": "All right, order {number} stays as it is. Is there anything else?",
        "order_already_cancelled": "Order {number} is already {status}. Is there anything else?",
        "order_not_cancellable": "Order {number} is {status}, so I can't cancel it myself. I'll pass your request to the team and they will call you back. May I have your name?",
        "order_cancel_message": "Asks to cancel order {number} ({status}).",
        "order_unknown": "I can't find order {number}. Could you read me the number again?",
        "confirm_payment": "I'll text a payment link{order}{amount} {to_phone}. Is that right?",
        "for_order": " for order {number}",
        "payment_sent": "Done, the payment link is on its way by text. Is there anything else?",
        "with": "with {provider}",
        "at_time": "{day} at {time}",
        "or": " or ",
        "hours_range": "{days}, from {ranges}",  # the comma: the first clause plays while the rest is made
        "time_range": "{start} to {end}",
        "and_ranges": " and ",
        "keys_hint": "To speak with someone, press 0. Or just tell me how I can help.",
        "reminder_call": "Hello, this is the automated assistant of {business}, reminding you of your appointment with {provider} on {when}. To confirm, say confirm or press 1. To cancel, say cancel or press 2. To change it, say change or press 3.",
        "reminder_again": "Please say confirm, cancel or change, or press 1, 2 or 3.",
        "reminder_confirmed": "Thank you, your appointment on {when} is confirmed. See you then. Goodbye!",
        "reminder_unclear": "I'll keep your appointment as it is. To change it, please call {business}. Goodbye!",
        "reminder_opted_out": "Understood, we won't call you with reminders again. Your appointment stays as it is. Goodbye!",
        "reminder_sms": "{business}: reminder of your appointment with {provider} on {when}. To change it, call us{phone}.",
        "reminder_voicemail": "Hello, this is the automated assistant of {business} with a reminder of an appointment on {when}. Please call us back{phone}. Goodbye.",
        "reminder_voicemail_brief": "Hello, this is the automated assistant of {business} with a reminder of an upcoming appointment. Please call us back{phone}. Goodbye.",
        "callback_call": "Hello, this is the automated assistant of {business}, calling you back as you asked. How can I help you?",
        "callback_voicemail": "Hello, this is the automated assistant of {business}, returning your call. Please call us back{phone}. Goodbye.",
        "hours_join": ", and ",
    },
    weekday_names=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    month_names=[
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    range_to=" to ",
    question_words=r"what|when|where|how|why|which|who|do you|does|can i|can you|could you|is there|is it|are you|are there",
    faq_topics={
        "hours": r"\b(?:open|opening|hours|close|closing)\b",
        "address": r"\b(?:address|where are you|where's your (?:office|clinic|practice|shop|store)|where is your (?:office|clinic|practice|shop|store)|located|location|directions|get there|find you)\b",
        "price": r"\b(?:how much|cost|costs|price|fee|charge)\b",
    },
    reminder_answers=(
        r"\b(?:with|want|like|send me|yes to)(?: an?| the)? reminders?\b|\bremind me\b",
        r"\b(?:no|without|skip|don'?t (?:need|want|send)|do not (?:need|want|send)|not)(?: an?| the| any)? reminders?\b|"
        r"\bdon'?t remind me\b",
    ),
    this_number=r"(?<!not )(?<!n't use )\b(?:(?:this|the same) (?:number|phone|mobile|cell)\b(?! (?:is wrong|isn't))|"
    r"(?:number|mobile|phone|cell|line) i'?m (?:calling|ringing|phoning) (?:you )?(?:from|on)\b)",
    asks_for=r"\b(?:is|are)\s+(?:[\w.'-]+\s+){1,4}(?:there|in|available|around|in the office)(?: today| now)?\W*$",
    swapped_name=r"\bnot ([\w'-]+)\W+(?:(?:it'?s|it is|but|that'?s)\s+)?([\w'-]+)",
    same_day=r"\b(?:the )?same day\b",
    strong_name_intro=r"\b(?:(?:my|his|her|the patient's) name(?:'s| is)|the patient is)\b",
    stt_prompt="A phone call to the receptionist of a clinic about appointments with the doctor, nurse or dentist.",
)
