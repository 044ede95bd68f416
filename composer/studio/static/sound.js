// Sound for a take, always in one <audio> element: the server's FluidSynth WAV when it
// has one, else a WAV synthesised here with Web Audio (an OfflineAudioContext renders
// the notes, the samples become a WAV blob), so a take always sounds and downloads.

const RATE = 44100;  // Hz
const TAIL = 1.0;  // s of release after the last note
const ATTACK = 0.008, DECAY = 0.25, SUSTAIN = 0.55, RELEASE = 0.12;  // s, s, level, s

const frequency = (pitch) => 440 * 2 ** ((pitch - 69) / 12);

// Render the notes [[start, end, pitch, velocity], ...] (beats) at `qpm` into an AudioBuffer.
export async function synthesise(notes, qpm, endBeats) {
  const seconds = (beats) => (beats * 60) / qpm;
  const length = Math.ceil((seconds(endBeats) + TAIL) * RATE);
  const ctx = new OfflineAudioContext(2, Math.max(length, RATE / 10), RATE);
  const master = ctx.createGain();
  master.gain.value = 0.5 / Math.sqrt(Math.max(1, maxSounding(notes)));
  const tone = ctx.createBiquadFilter();
  tone.type = "lowpass";
  tone.frequency.value = 4200;
  tone.connect(master).connect(ctx.destination);
  for (const [start, end, pitch, velocity] of notes) {
    voice(ctx, tone, seconds(start), seconds(end), pitch, velocity / 127);
  }
  return ctx.startRendering();
}

function voice(ctx, out, start, end, pitch, level) {
  const gain = ctx.createGain();
  const peak = 0.2 + 0.8 * level;
  gain.gain.setValueAtTime(0, start);
  gain.gain.linearRampToValueAtTime(peak, start + ATTACK);
  gain.gain.setTargetAtTime(peak * SUSTAIN, start + ATTACK, DECAY / 3);
  gain.gain.setTargetAtTime(0, Math.max(end, start + ATTACK), RELEASE / 3);
  gain.connect(out);
  for (const [type, ratio, share] of [["triangle", 1, 0.8], ["sine", 2, 0.2]]) {
    const osc = ctx.createOscillator();
    osc.type = type;
    osc.frequency.value = frequency(pitch) * ratio;
    const mix = ctx.createGain();
    mix.gain.value = share;
    osc.connect(mix).connect(gain);
    osc.start(start);
    osc.stop(end + RELEASE * 3);
  }
}

function maxSounding(notes) {
  const edges = notes.flatMap(([s, e]) => [[s, 1], [e, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, most = 0;
  for (const [, step] of edges) { now += step; most = Math.max(most, now); }
  return most;
}

// A 16-bit PCM WAV file of an AudioBuffer.
export function wavBlob(buffer) {
  const channels = buffer.numberOfChannels, frames = buffer.length;
  const bytes = new DataView(new ArrayBuffer(44 + frames * channels * 2));
  const text = (offset, s) => [...s].forEach((ch, i) => bytes.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF"); bytes.setUint32(4, 36 + frames * channels * 2, true); text(8, "WAVE");
  text(12, "fmt "); bytes.setUint32(16, 16, true); bytes.setUint16(20, 1, true);
  bytes.setUint16(22, channels, true); bytes.setUint32(24, buffer.sampleRate, true);
  bytes.setUint32(28, buffer.sampleRate * channels * 2, true);
  bytes.setUint16(32, channels * 2, true); bytes.setUint16(34, 16, true);
  text(36, "data"); bytes.setUint32(40, frames * channels * 2, true);
  const data = [...Array(channels).keys()].map((c) => buffer.getChannelData(c));
  let offset = 44;
  for (let i = 0; i < frames; i += 1) {
    for (let c = 0; c < channels; c += 1) {
      const sample = Math.max(-1, Math.min(1, data[c][i]));
      bytes.setInt16(offset, sample < 0 ? sample * 0x8000 : sample * 0x7fff, true);
      offset += 2;
    }
  }
  return new Blob([bytes], { type: "audio/wav" });
}

// The take's audio as a URL for the <audio> element: the server's, or synthesised here.
// Returns {url, source, download}: `download` is where the WAV button points.
export async function audioFor(take) {
  if (take.wav_url) {
    return { url: take.wav_url, source: "FluidSynth on the server", download: take.wav_url };
  }
  const buffer = await synthesise(take.notes, take.qpm, take.end);
  const url = URL.createObjectURL(wavBlob(buffer));
  return { url, source: "synthesised in this page", download: url };
}
