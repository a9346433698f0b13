"""Command line: ``appliance run | simulate | talk | call | chat | scenarios | models``.

Anything the operator must fix is printed as one ``error:`` line with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .config import ApplianceConfig, load_config
from .errors import ApplianceError, ConfigError
from .service import load_credentials

if TYPE_CHECKING:
    from .call import Engines
    from .dialog.engine import Business
    from .integrations.outbox import Outbox
    from .store import Store

_LOGGER = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="appliance", description="VocalIA Edge: an on-prem AI receptionist.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("VOCALIA_CONFIG"),
        help="TOML config file (default: built-in demo)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the daemon (web /healthz; answers calls once SIP is configured)")
    run.add_argument("--workers", type=int, help="daemons behind kamailio's dispatcher (overrides [scale] workers)")
    run.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # one of them, started by the supervisor

    stt = commands.add_parser("stt-server", help="serve this box's speech to text to other workers over Wyoming")
    stt.add_argument("--uri", default="tcp://127.0.0.1:10300", help="where to listen (tcp://host:port)")
    llm = commands.add_parser("llm-server", help="serve [models] llm to other workers (llama.cpp, OpenAI API)")
    llm.add_argument("--url", default="http://127.0.0.1:8080/v1", help="where to listen (http://host:port/v1)")
    llm.add_argument("--threads", type=int, help="CPU threads (default: [models] llm_threads)")
    kam = commands.add_parser("kamailio-config", help="print the kamailio configuration for [scale] workers")
    kam.add_argument("--workers", type=int, help="overrides [scale] workers")
    kam.add_argument("--list", action="store_true", help="print the dispatcher list instead")
    sim = commands.add_parser("simulate", help="run a whole conversation from a caller recording (WAV, any rate)")
    sim.add_argument("caller", type=Path, help="caller audio: several utterances separated by silence")
    sim.add_argument("--out", type=Path, help="write what the caller would have heard to this WAV (16 kHz)")
    sim.add_argument("--json", action="store_true", help="print the turns as JSON instead of text")
    sim.add_argument("--greet", action="store_true", help="play the greeting first, as on a real call")

    commands.add_parser("talk", help="converse through the local microphone and speaker (needs the talk extra)")

    call = commands.add_parser("call", help="place a real SIP call: speak, record and transcribe what is answered")
    call.add_argument("uri", help="whom to call, e.g. sip:reception@192.0.2.10:5060")
    said = call.add_mutually_exclusive_group(required=True)
    said.add_argument("--say", help="text to speak (with the appliance's own voice)")
    said.add_argument("--play", type=Path, help="a recording to play instead (any rate)")
    call.add_argument("--record", type=Path, help="write what the other side said to this WAV (16 kHz)")
    call.add_argument("--wait", type=float, default=4.0, help="seconds to listen before speaking (the greeting)")
    call.add_argument("--listen", type=float, default=8.0, help="seconds to keep listening after speaking")

    chat = commands.add_parser("chat", help="type to the receptionist (the dialogue without audio)")
    chat.add_argument("--caller-id", help="the caller's number as SIP would show it")
    chat.add_argument("--now", help="the date-time the dialogue sees (ISO, business time zone)")

    scenarios = commands.add_parser("scenarios", help="check the receptionist against described calls")
    scenario_commands = scenarios.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    run_scenarios = scenario_commands.add_parser("run", help="run scenario files (JSON) or folders of them")
    run_scenarios.add_argument("paths", type=Path, nargs="+", help="scenario files or folders")
    run_scenarios.add_argument("--json", action="store_true", help="print the results as JSON")

    outbox = commands.add_parser("outbox", help="see and fix the deliveries of actions to connectors")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    listing = outbox_commands.add_parser("list", help="deliveries, newest first")
    listing.add_argument("--state", choices=["pending", "in_flight", "delivered", "dead"])
    listing.add_argument("--limit", type=int, default=50)
    show = outbox_commands.add_parser("show", help="one delivery, with its payload and last error")
    show.add_argument("id", help="the delivery id (or a unique prefix)")
    retry = outbox_commands.add_parser("retry", help="attempt a dead or waiting delivery now")
    retry.add_argument("id")
    outbox_commands.add_parser("replay-dead", help="queue every dead delivery again (after fixing the cause)")
    outbox_commands.add_parser("stats", help="per connector: deliveries in each state, oldest waiting")
    work = outbox_commands.add_parser("work", help="run the delivery worker alone (the daemon runs one itself)")
    work.add_argument("--until-empty", action="store_true", help="stop when nothing is pending or in flight")
    for sub in (listing, show, outbox_commands.choices["stats"]):
        sub.add_argument("--json", action="store_true", help="print JSON")

    export = commands.add_parser("export", help="print everything stored about one call (access request; audited)")
    export.add_argument("--call", required=True, help="the call id (from the status page or the database)")
    purge = commands.add_parser("purge", help="apply the retention policy now, or erase one call (audited)")
    purge.add_argument("--call", help="erase this call's transcript and delivered actions instead")

    consent = commands.add_parser("consent", help="see or record a patient's consent to reminders (audited)")
    consent.add_argument(
        "phone", help="the patient's number, E.164 (+33612345678) or as the business's country writes it"
    )
    consent.add_argument(
        "--channel", choices=("call", "sms", "whatsapp"), help="the channel to record (with --grant/--refuse)"
    )
    answer = consent.add_mutually_exclusive_group()
    answer.add_argument("--grant", action="store_true", help="the patient said yes to reminders on --channel")
    answer.add_argument("--refuse", action="store_true", help="the patient said no: no reminder goes on --channel")

    commands.add_parser("doctor", help="check config, profile, models, SIP port, registrar, connectors, disk")

    models = commands.add_parser("models", help="resolve every configured model, assembling bundled parts")
    models.add_argument("--json", action="store_true", help="print as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``appliance`` console script."""
    args = build_parser().parse_args(argv)
    # Under systemd (JOURNAL_STREAM is set) journald stamps each line itself: one event per line, no time.
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    if getattr(args, "worker", None) is not None:
        stamp += f"[worker {args.worker}] "
    logging.basicConfig(level=args.log_level, format=stamp + "%(levelname)s %(name)s: %(message)s")
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    try:
        load_credentials(os.environ)  # systemd LoadCredential=vocalia.env: secrets as VOCALIA_* variables
        config = load_config(args.config)
        handler = {
            "run": _run,
            "kamailio-config": _kamailio_config,
            "stt-server": _stt_server,
            "llm-server": _llm_server,
            "simulate": _simulate,
            "talk": _talk,
            "call": _call,
            "chat": _chat,
            "scenarios": _scenarios,
            "outbox": _outbox,
            "doctor": _doctor,
            "export": _export,
            "consent": _consent,
            "purge": _purge,
            "models": _models,
        }[args.command]
        return handler(config, args)
    except ApplianceError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


def _stt_server(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from .call.engines import local_transcriber
    from .dialog.profile import load_profile
    from .models.wyoming import serve_stt, server_address

    server_address(args.uri)
    languages = (config.business.language,) if config.business.language else load_profile(config.profile_path).languages
    transcriber = local_transcriber(config, languages)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_stt(transcriber, args.uri))
    return 0


def _llm_server(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from urllib.parse import urlparse

    from .models.registry import ModelRegistry

    url = urlparse(args.url)
    if url.scheme != "http" or not url.hostname or not url.port or url.path.rstrip("/") != "/v1":
        raise ConfigError(f"--url {args.url!r}: write it as http://host:port/v1, e.g. http://127.0.0.1:8080/v1")
    try:
        import llama_cpp.server  # noqa: F401 - its dependencies are what the server needs
    except ImportError as err:
        raise ConfigError(f"llama.cpp's server is not installed ({err}); run scripts/setup") from None
    model = ModelRegistry(config.model_cache).resolve("llm", config.models.llm)
    threads = args.threads or config.models.llm_threads
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model.path), "--model_alias", model.name]
    command += ["--host", url.hostname, "--port", str(url.port), "--n_threads", str(threads), "--n_ctx", "2048"]
    _LOGGER.info("LLM server on %s: %s, %d threads", args.url, model.name, threads)
    os.execv(sys.executable, command)  # the server is llama-cpp-python's own, as it is; it never returns


def _kamailio_config(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from .scale.kamailio import fronted, render

    if args.workers is not None:
        config = dataclasses.replace(config, scale=dataclasses.replace(config.scale, workers=args.workers))
    if not fronted(config):
        raise ConfigError("[scale] workers = 1 and no peers: one daemon needs no kamailio in front; pass --workers N")
    text, dispatchers = render(config, config.state_path / "kamailio")
    print(dispatchers if args.list else text, end="")
    return 0


def _run(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from .daemon import serve
    from .scale.kamailio import fronted, workers
    from .scale.supervisor import Supervisor, worker_config

    if args.workers is not None:
        config = dataclasses.replace(config, scale=dataclasses.replace(config.scale, workers=args.workers))
    if args.worker is not None:
        cluster = workers(config)
        if not 0 <= args.worker < len(cluster):
            raise ConfigError(f"--worker {args.worker}: [scale] workers = {len(cluster)}")
        asyncio.run(serve(worker_config(config, args.worker), cluster=cluster, worker=args.worker))
    elif fronted(config):
        return Supervisor(config, args.config, args.log_level).run()
    else:
        asyncio.run(serve(config))
    return 0


def _stack(config: ApplianceConfig) -> tuple[Engines, Store, Business]:
    """What a local call needs: the profile (checked first: it fails fastest), the store, the models."""
    from .call import Engines
    from .dialog.assist import IntentProposer
    from .dialog.engine import Business
    from .dialog.profile import load_profile
    from .store import Store

    profile = load_profile(config.profile_path)
    store = Store.configured(config)
    proposer = IntentProposer.configured(config.models, config.model_cache)
    return Engines.load(config, profile.languages), store, Business(profile, store, proposer=proposer)


def _simulate(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from .audio.files import read_audio, write_wav
    from .audio.frames import PIPELINE_RATE
    from .call import CallSession, RecordingLine, run_call

    caller = read_audio(args.caller, PIPELINE_RATE, config.call.max_duration_s)
    engines, store, business = _stack(config)

    async def call() -> tuple[Any, RecordingLine]:
        call_id = str(uuid.uuid4())
        session = CallSession(
            engines,
            business.engine(call_id),
            store,
            call_id=call_id,
            source=f"simulate:{args.caller.name}",
            greet=args.greet,
            limits=config.call,
        )
        line = RecordingLine(caller)
        return await run_call(session, line), line

    try:
        result, line = asyncio.run(call())
    finally:
        engines.close()
        store.close()
    if args.out:
        write_wav(args.out, line.heard, PIPELINE_RATE)
    turns = [_turn_view(t) for t in result.turns]
    if args.json:
        summary = {"call_id": result.call_id, "end_reason": result.end_reason}
        print(json.dumps({**summary, "turns": turns}, indent=2))
    else:
        for t in turns:
            print(_turn_text(t))
        print(f"call {result.call_id} ended: {result.end_reason}")
    return 0


def _turn_view(turn: Any) -> dict[str, Any]:
    """A turn with its stage times relative to the end of the caller's speech (ms)."""
    view = dict(vars(turn))

    def after_speech(value: float | None) -> float | None:
        return None if not value else round((value - turn.speech_end_s) * 1000)

    view["ms_after_speech_end"] = {
        "stt_done": after_speech(turn.stt_done_s),
        "end_of_turn": after_speech(turn.eot_s),
        "reply_ready": after_speech(turn.reply_ready_s),
        "first_audio": after_speech(turn.first_audio_s),
        "first_frame": after_speech(turn.first_frame_s),
    }
    return view


def _turn_text(t: dict[str, Any]) -> str:
    ms = t["ms_after_speech_end"]
    stages = ", ".join(f"{k.replace('_', ' ')} +{v} ms" for k, v in ms.items() if v is not None)
    return (
        f"turn {t['idx']} [{t['speech_start_s']:.2f}-{t['speech_end_s']:.2f} s, end of turn: {t['eot_reason']}]"
        f"{' (caller barged in)' if t['barged_in'] else ''}\n"
        f"  caller: {t['caller_text']}\n  reply:  {t['reply_text']}\n"
        f"  stt {t['stt_s'] * 1000:.0f} ms; {stages}"
    )


def _talk(config: ApplianceConfig, args: argparse.Namespace) -> int:
    try:
        import pyaudio
    except ImportError:
        raise ApplianceError("appliance talk needs PyAudio: pip install 'vocalia-appliance[talk]'") from None
    return talk(config, pyaudio)


def talk(config: ApplianceConfig, pyaudio_module: Any) -> int:
    """Converse through the sound card that ``pyaudio_module`` (PyAudio, or a test double) opens."""
    from .call import CallSession, SoundCardLine, run_call

    engines, store, business = _stack(config)
    line = SoundCardLine(pyaudio_module)
    print("Talking through the sound card; press Ctrl-C to hang up.", file=sys.stderr)

    async def call() -> str:
        call_id = str(uuid.uuid4())
        session = CallSession(engines, business.engine(call_id), store, "talk", limits=config.call, call_id=call_id)
        return (await run_call(session, line)).end_reason

    try:
        reason = asyncio.run(call())
        print(f"call ended: {reason}", file=sys.stderr)
    finally:
        line.close()
        engines.close()
        store.close()
    return 0


def _call(config: ApplianceConfig, args: argparse.Namespace) -> int:
    import numpy as np

    from .audio.files import read_audio, write_wav
    from .audio.frames import PIPELINE_RATE
    from .models.registry import ModelRegistry
    from .models.stt import Transcriber
    from .models.tts import Synthesizer
    from .sip.client import place_call, utterances

    registry = ModelRegistry(config.model_cache)
    m = config.models
    if args.say:
        voice = Synthesizer(registry.resolve("tts", m.tts), m.tts_threads, PIPELINE_RATE)
        speech = np.concatenate(list(voice.sentences(args.say)))
    else:
        speech = read_audio(args.play, PIPELINE_RATE, config.call.max_duration_s)
    transcriber = Transcriber(
        registry.resolve("stt", m.stt), m.stt_threads, config.business.language or ("en", "fr", "es")
    )
    caller = np.concatenate([np.zeros(int(args.wait * PIPELINE_RATE), dtype=np.int16), speech])
    recording = asyncio.run(place_call(config.sip, args.uri, caller, args.listen))
    if args.record:
        write_wav(args.record, recording.heard, PIPELINE_RATE)
    for start, audio in utterances(recording.heard):
        print(f"[{start:5.1f} s] answer: {transcriber.transcribe(audio).text}")
    print("the other side hung up" if recording.remote_hung_up else "we hung up")
    return 0


def _models(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from .dialog.profile import load_profile
    from .models.registry import DEFAULT_VOICES, ModelRegistry, Stage, smart_turn_model

    registry = ModelRegistry(config.model_cache)
    m = config.models
    specs: dict[Stage, str] = {"stt": m.stt, "vad": m.vad, "tts": m.tts, "llm": m.llm}
    rows: list[tuple[str, str, Path]] = [
        (r.stage, r.name, r.path) for r in (registry.resolve(stage, spec) for stage, spec in specs.items())
    ]
    # each language of the business other than English speaks with its own voice
    languages = (config.business.language,) if config.business.language else load_profile(config.profile_path).languages
    for language in languages:
        spec = m.voices.get(language) or DEFAULT_VOICES.get(language)
        if spec is not None:
            voice = registry.resolve_voice(spec)
            rows.append((f"tts:{language}", voice.model.name, voice.model.path))
    if config.listen.end_of_turn != "rule":  # the end of turn heard from the audio
        rows.append(("turn", "smart-turn-v3.2", smart_turn_model()))
    if args.json:
        print(json.dumps([{"stage": stage, "name": name, "path": str(path)} for stage, name, path in rows], indent=2))
    else:
        for stage, name, path in rows:
            print(f"{stage:6} {name:20} {path}")
    return 0


def _chat(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from datetime import datetime

    from .dialog.assist import IntentProposer
    from .dialog.engine import Business
    from .dialog.profile import load_profile
    from .store import Store

    profile = load_profile(config.profile_path)
    store = Store.configured(config)
    fixed = datetime.fromisoformat(args.now) if args.now else None
    proposer = IntentProposer.configured(config.models, config.model_cache)
    business = Business(profile, store, clock=(lambda: fixed) if fixed is not None else None, proposer=proposer)
    engine = business.engine(None, args.caller_id)
    print(f"appliance: {engine.greeting().text}")
    try:
        for line in sys.stdin:
            reply = engine.respond(line.strip())
            flags = " [transfer]" if reply.transfer else " [hangs up]" if reply.end_call else ""
            print(f"appliance: {reply.text}{flags}", flush=True)
            if reply.end_call or reply.transfer:
                break
    finally:
        store.close()
    return 0


def _scenarios(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from .dialog.scenarios import as_json, run_paths

    logging.getLogger("appliance.dialog").setLevel(logging.WARNING)  # one line per action is for the daemon's log
    results = run_paths(args.paths)
    if args.json:
        print(json.dumps([as_json(r) for r in results], indent=2, ensure_ascii=False))
    else:
        for r in results:
            print(f"{'PASS' if r.passed else 'FAIL'}  {r.name}")
            for failure in r.failures:
                print(f"      {failure}")
        passed = sum(r.passed for r in results)
        print(f"{passed}/{len(results)} scenarios passed")
    return 0 if results and all(r.passed for r in results) else 1


def _outbox(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .integrations.connectors import load_connectors
    from .integrations.outbox import Outbox
    from .store import Store

    connectors = load_connectors(config.integrations_path)
    store = Store.configured(config)
    outbox = Outbox(store, connectors)
    try:
        command = args.outbox_command
        if command == "work":
            return _work(config, outbox, args.until_empty)
        if command == "list":
            rows = outbox.rows(args.state, args.limit)
            if args.json:
                print(json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False))
                return 0
            for r in rows:
                error = f"  {r.last_error}" if r.last_error and r.state != "delivered" else ""
                action = r.tool
                print(f"{r.id}  {r.state:9} {r.connector:16} {action:18} attempts {r.attempts}{error}")
            return 0
        row = outbox.get(args.id) if command in ("show", "retry") else None
        if command == "show":
            if row is None:
                raise ApplianceError(f"no delivery {args.id!r}; `appliance outbox list` shows the ids")
            print(json.dumps(asdict(row), indent=2, ensure_ascii=False))
            return 0
        if command == "retry":
            if row is None or not outbox.retry(row.id):
                raise ApplianceError(f"no dead or waiting delivery {args.id!r}; see `appliance outbox list`")
            print(f"{row.id}: queued for an attempt now")
            return 0
        if command == "replay-dead":
            print(f"{outbox.replay_dead()} dead deliveries queued again")
            return 0
        stats = outbox.stats()
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            print(f"{'connector':18} {'pending':>8} {'in flight':>9} {'delivered':>9} {'dead':>5}  oldest waiting")
            for name, entry in sorted(stats.items()):
                age = entry["oldest_undelivered_s"]
                print(
                    f"{name:18} {entry['pending']:>8} {entry['in_flight']:>9} {entry['delivered']:>9} "
                    f"{entry['dead']:>5}  {'-' if age is None else f'{age:.0f} s'}"
                )
        return 0
    finally:
        store.close()


def _work(config: ApplianceConfig, outbox: Outbox, until_empty: bool) -> int:
    import signal

    from .integrations.worker import OutboxWorker

    worker = OutboxWorker.configured(outbox, config.integrations)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(worker.run(stop))
        while until_empty and not stop.is_set():
            await asyncio.sleep(0.2)
            counts = await asyncio.to_thread(outbox.stats)
            if not any(e["pending"] or e["in_flight"] for e in counts.values()):
                stop.set()
        await task

    asyncio.run(run())
    return 0


def _doctor(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from .doctor import render, run_checks

    checks = run_checks(config)
    print(render(checks))
    return 0 if all(c.ok for c in checks) else 1


def _export(config: ApplianceConfig, args: argparse.Namespace) -> int:
    import getpass

    from .store import Store
    from .store.retention import export_call

    store = Store.configured(config)
    try:
        data = export_call(store, args.call, f"cli by {getpass.getuser()}")
    except LookupError:
        raise ApplianceError(f"no call {args.call!r} in {config.db_path}") from None
    finally:
        store.close()
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def _consent(config: ApplianceConfig, args: argparse.Namespace) -> int:
    import getpass

    import phonenumbers

    from .dialog.profile import load_profile
    from .store import Store
    from .store import consent as consents

    if (args.grant or args.refuse) and not args.channel:
        raise ConfigError("--grant and --refuse need --channel call, sms or whatsapp")
    profile = load_profile(config.profile_path)
    try:
        number = phonenumbers.parse(args.phone, profile.country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ConfigError(
            f"{args.phone!r} is not a valid phone number for {profile.country}; write it as +<country><number>"
        )
    phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    store = Store.configured(config)
    try:
        if args.grant or args.refuse:
            with store.transaction() as conn:
                consents.record(conn, phone, args.channel, args.grant, f"front desk (cli by {getpass.getuser()})")
        rows = consents.lookup(store, phone)
    finally:
        store.close()
    if not rows:
        print(f"{phone}: never asked (the profile's default applies; WhatsApp needs a yes)")
    for row in rows:
        word = "yes" if row["granted"] else "no"
        print(
            f"{phone} {row['channel']}: {word}, {row['source']}, {row['at']}"
            + (f", call {row['call_id']}" if row["call_id"] else "")
        )
    return 0


def _purge(config: ApplianceConfig, args: argparse.Namespace) -> int:
    import getpass

    from .store import Store
    from .store.retention import erase_call, purge_expired

    store = Store.configured(config)
    actor = f"cli by {getpass.getuser()}"
    try:
        counts = erase_call(store, args.call, actor) if args.call else purge_expired(store, config.store, actor)
    except LookupError:
        raise ApplianceError(f"no call {args.call!r} in {config.db_path}") from None
    finally:
        store.close()
    print(", ".join(f"{n} {kind}" for kind, n in counts.items()) + " deleted")
    return 0
