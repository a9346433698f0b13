"""Audio plumbing: the resampler, file decoding, frames."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.echo import EchoGuard
from appliance.audio.files import read_audio, write_wav
from appliance.audio.frames import PIPELINE_RATE, split_frames
from appliance.audio.resample import StreamResampler, resample
from appliance.errors import AudioInputError
from appliance.models.registry import ModelRegistry
from appliance.models.tts import Synthesizer
from appliance.testing import speak


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 16000), (16000, 22050), (22050, 8000)])
def test_resample_keeps_pitch_length_and_level(src: int, dst: int) -> None:
    signal = tone(440.0, src)
    out = resample(signal, src, dst)
    assert abs(len(out) - dst) <= 1
    assert peak_hz(out, dst) == pytest.approx(440.0, abs=2.0)
    assert rms(out[100:-100]) == pytest.approx(rms(signal), rel=0.03)


def test_resample_removes_what_the_lower_rate_cannot_carry() -> None:
    out = resample(tone(6000.0, 22050), 22050, 8000)  # above the 4 kHz Nyquist limit of telephone audio
    assert rms(out) < 0.01 * rms(tone(6000.0, 22050))


def test_streaming_resampler_matches_one_shot() -> None:
    signal = tone(300.0, 8000, seconds=2.0)
    stream = StreamResampler(8000, 16000)
    chunks = [stream.process(signal[i : i + 160]) for i in range(0, len(signal), 160)]
    chunks.append(stream.process(np.zeros(0, dtype=np.int16), last=True))
    streamed = np.concatenate(chunks)
    whole = resample(signal, 8000, 16000)
    assert abs(len(streamed) - len(whole)) <= 2
    n = min(len(streamed), len(whole))
    assert (
        np.max(np.abs(streamed[:n].astype(int) - whole[:n].astype(int))) < 200
    )  # same signal, tiny filter differences


def test_split_frames_pads_the_last_frame() -> None:
    frames = split_frames(np.ones(700, dtype=np.int16))
    assert [len(f) for f in frames] == [640, 640, 640]
    assert np.frombuffer(frames[-1], dtype=np.int16)[60:].sum() == 0


def test_read_audio_decodes_any_rate_and_stereo(tmp_path: Path) -> None:
    left = tone(440.0, 44100)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(np.stack([left, left], axis=1).tobytes())
    out = read_audio(path, 16000, 60)
    assert abs(len(out) - 16000) <= 1
    assert peak_hz(out, 16000) == pytest.approx(440.0, abs=2.0)


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    signal = tone(1000.0, 8000)
    write_wav(tmp_path / "x.wav", signal, 8000)
    assert np.array_equal(read_audio(tmp_path / "x.wav", 8000, 60), signal)
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"], "no temporary file is left behind"


def test_not_audio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is a text file, not a recording\n" * 20)
    with pytest.raises(AudioInputError, match="notes.wav: not a readable audio file"):
        read_audio(path, 16000, 60)


def test_empty_recording_is_refused(tmp_path: Path) -> None:
    write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16), 16000)
    with pytest.raises(AudioInputError, match="contains no audio samples"):
        read_audio(tmp_path / "empty.wav", 16000, 60)


def test_too_long_recording_is_refused(tmp_path: Path) -> None:
    write_wav(tmp_path / "long.wav", np.zeros(8000 * 11, dtype=np.int16), 8000)
    with pytest.raises(AudioInputError, match=r"longer than 10 s.*max_duration_s"):
        read_audio(tmp_path / "long.wav", 16000, 10)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AudioInputError, match="no such file"):
        read_audio(tmp_path / "nope.wav", 16000, 60)


def _through_echo_path(sent: np.ndarray) -> np.ndarray:
    """``sent`` as a hybrid sends it back: 60 ms late, spread over 1.3 ms, a third of its level."""
    echo = np.zeros(len(sent))
    for delay, gain in ((960, 0.3), (968, 0.15), (980, -0.08)):
        echo[delay:] += gain * sent[: len(sent) - delay]
    return echo


def _share_judged_echo(guard: EchoGuard, sent: np.ndarray, received: np.ndarray, speaking: np.ndarray) -> float:
    """The share of frames judged echo among those where ``speaking`` (the talker to judge) has sound."""
    verdicts = []
    for i, frame in enumerate(split_frames(sent)):
        guard.sent(frame)
        part = slice(i * 320, (i + 1) * 320)
        echo = guard.is_echo(received[part].astype(np.int16))  # every frame, in order, as a call does
        if np.abs(speaking[part]).mean() > 300:
            verdicts.append(echo)
    return float(np.mean(verdicts))


def test_the_appliances_voice_coming_back_is_echo_and_a_caller_over_it_is_not(tmp_path: Path) -> None:
    reply = np.concatenate(list(piper_voice().sentences("We're open Monday to Friday, from 8 AM to noon and 1 PM.")))
    talker = speak("Sorry, where exactly are you located? I need the address.", PIPELINE_RATE, tmp_path)
    caller = np.zeros(len(reply))
    caller[4000 : 4000 + len(talker)] = talker[: len(reply) - 4000]
    echo = _through_echo_path(reply.astype(np.float64))
    assert _share_judged_echo(EchoGuard(), reply, echo, echo) > 0.9
    assert _share_judged_echo(EchoGuard(), reply, caller, caller) == 0.0, "a caller alone is never echo"
    assert _share_judged_echo(EchoGuard(), reply, caller + echo, caller) < 0.2, "a caller over the echo is heard"
    silent = np.zeros_like(reply)
    assert _share_judged_echo(EchoGuard(), silent, caller, caller) == 0.0, "nothing sent: nothing echoed"


def piper_voice() -> Synthesizer:
    # piper's bundled voice is used in place (one part): no cache directory is written
    return Synthesizer(ModelRegistry(Path("/nonexistent")).resolve("tts", "piper-joe-medium"), 1, PIPELINE_RATE)
