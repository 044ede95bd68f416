// The piano roll: a take's notes on a canvas, with a keyboard, bar lines and a playhead.
// Times are in beats (quarter notes), as the server sends them.

const KEYS_WIDTH = 46;  // px: the keyboard strip on the left
const RULER = 22;  // px: bar numbers along the top
const MIN_BEAT_PX = 14;  // px per beat at least; longer takes scroll sideways
const MIN_SPAN = 24;  // semitones shown at least
const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const BLACK = new Set([1, 3, 6, 8, 10]);
const PART_HUES = [205, 140, 35, 290, 0];  // the parts A, B, C, D, E (then again)

const COLOURS = {
  back: "#101216", blackRow: "#0c0d11", row: "#171a20", beat: "#1f232c", bar: "#3b4252",
  barText: "#8b93a5", chordText: "#e6c07b", keyWhite: "#d9dde5", keyBlack: "#1d2027", keyText: "#4b5262", keyLine: "#9aa1b1",
  note: "#f2a93b", noteOn: "#ffe2b0", noteEdge: "#7a4f10", primer: "#7f93c4",
  primerShade: "rgba(127, 147, 196, 0.10)", playhead: "#ff6f61", empty: "#5d6474",
};

export const pitchName = (p) => `${NAMES[p % 12]}${Math.floor(p / 12) - 1}`;

export class PianoRoll {
  constructor(canvas) {
    this.canvas = canvas;
    this.take = null;
    this.beat = null;  // playhead position in beats, or null
  }

  // The beats-per-bar and felt pulse of a time signature [n, d]: 6/8 -> bar 3, pulse 1.5.
  static metre([n, d]) {
    const compound = d >= 8 && n % 3 === 0 && n > 3;
    return { bar: (n * 4) / d, pulse: ((compound ? 3 : 1) * 4) / d };
  }

  show(take) {
    this.take = take;
    this.beat = null;
    this.layout();
    this.draw();
    this.canvas.dataset.take = take ? take.id : "";
    this.canvas.dataset.notes = take ? take.notes.length : 0;
  }

  // Size the canvas for the container and the take; works out the scales.
  layout() {
    const wrap = this.canvas.parentElement;
    const ratio = window.devicePixelRatio || 1;
    const end = this.take ? Math.max(this.take.end, 1) : 16;
    const width = Math.max(wrap.clientWidth, KEYS_WIDTH + 8 + end * MIN_BEAT_PX);
    const height = this.canvas.clientHeight || 400;
    this.canvas.style.width = `${width}px`;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.size = { width, height, ratio };
    this.beatPx = (width - KEYS_WIDTH - 8) / end;
    const pitches = this.take && this.take.notes.length ? this.take.notes.map((n) => n[2]) : [60, 72];
    let low = Math.min(...pitches) - 2, high = Math.max(...pitches) + 2;
    while (high - low + 1 < MIN_SPAN) { low -= 1; high += 1; }
    this.low = low; this.high = high;
    this.rowPx = (height - RULER) / (high - low + 1);
  }

  x(beat) { return KEYS_WIDTH + beat * this.beatPx; }
  y(pitch) { return RULER + (this.high - pitch) * this.rowPx; }
  beatAt(clientX) {
    const rect = this.canvas.getBoundingClientRect();
    return Math.max(0, (clientX - rect.left - KEYS_WIDTH) / this.beatPx);
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const { width, height, ratio } = this.size;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = COLOURS.back;
    ctx.fillRect(0, 0, width, height);
    this.drawRows(ctx, width);
    if (!this.take) {
      this.drawEmpty(ctx, width, height);
    } else {
      this.drawParts(ctx, height);
      this.drawGrid(ctx, height);
      this.drawChords(ctx);
      this.drawNotes(ctx);
    }
    this.drawKeys(ctx);
    if (this.beat !== null) this.drawPlayhead(ctx, height);
  }

  drawRows(ctx, width) {
    for (let p = this.low; p <= this.high; p += 1) {
      ctx.fillStyle = BLACK.has(p % 12) ? COLOURS.blackRow : COLOURS.row;
      ctx.fillRect(KEYS_WIDTH, this.y(p), width - KEYS_WIDTH, this.rowPx - 0.5);
    }
  }

  drawGrid(ctx, height) {
    const take = this.take;
    const { bar, pulse } = PianoRoll.metre(take.time_signature);
    if (take.primer_end > 0) {  // the primer: shaded, and underlined in the ruler
      ctx.fillStyle = COLOURS.primerShade;
      ctx.fillRect(this.x(0), RULER, take.primer_end * this.beatPx, height - RULER);
      ctx.fillStyle = COLOURS.primer;
      ctx.fillRect(this.x(0), RULER - 3, take.primer_end * this.beatPx, 3);
    }
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let k = 0; k * pulse <= take.end + 1e-9; k += 1) {
      const beat = k * pulse, atBar = Math.abs(beat / bar - Math.round(beat / bar)) < 1e-6;
      ctx.fillStyle = atBar ? COLOURS.bar : COLOURS.beat;
      ctx.fillRect(Math.round(this.x(beat)), atBar ? 0 : RULER, 1, height);
      const number = Math.round(beat / bar) + 1;
      if (atBar && beat < take.end - 1e-9 && (this.beatPx * bar > 22 || number % 4 === 1)) {
        ctx.fillStyle = COLOURS.barText;
        ctx.fillText(String(number), this.x(beat) + 4, RULER / 2);
      }
    }
  }

  // The take's parts (its form): a band each, a part played again a little brighter, and its
  // letter at the foot of the roll (the ruler holds the bar numbers and chords).
  drawParts(ctx, height) {
    const parts = this.take.parts || [];
    const seen = {};
    ctx.font = "bold 12px system-ui, sans-serif";
    ctx.textBaseline = "bottom";
    parts.forEach(([beat, letter], k) => {
      const end = k + 1 < parts.length ? parts[k + 1][0] : this.take.end;
      const again = (seen[letter] = (seen[letter] || 0) + 1) > 1;
      const hue = PART_HUES[(letter.charCodeAt(0) - 65) % PART_HUES.length];
      ctx.fillStyle = `hsla(${hue}, 60%, 60%, ${again ? 0.11 : 0.06})`;
      ctx.fillRect(this.x(beat), RULER, (end - beat) * this.beatPx, height - RULER);
      ctx.fillStyle = `hsla(${hue}, 70%, 72%, 0.9)`;
      ctx.fillText(again ? `${letter} (${seen[letter]})` : letter, this.x(beat) + 5, height - 4);
    });
    ctx.textBaseline = "middle";
  }

  // The chords asked for, each symbol in the ruler at the bar where it starts.
  drawChords(ctx) {
    ctx.font = "bold 11px system-ui, sans-serif";
    ctx.fillStyle = COLOURS.chordText;
    let clear = -Infinity;  // px: where the last symbol ended, so none overlap
    for (const [beat, symbol] of this.take.chords || []) {
      const x = this.x(beat) + 22;  // after the bar number
      if (x < clear || beat >= this.take.end - 1e-9) continue;
      ctx.fillText(symbol, x, RULER / 2);
      clear = x + ctx.measureText(symbol).width + 6;
    }
  }

  drawNotes(ctx) {
    const h = Math.max(2, this.rowPx - 2);
    for (const [start, end, pitch] of this.take.notes) {
      const primer = start < this.take.primer_end - 1e-9;
      const on = this.beat !== null && start <= this.beat && this.beat < end;
      ctx.fillStyle = on ? COLOURS.noteOn : primer ? COLOURS.primer : COLOURS.note;
      const x = this.x(start) + 1, w = Math.max(2, (end - start) * this.beatPx - 2);
      roundRect(ctx, x, this.y(pitch) + 1, w, h, Math.min(3, h / 2, w / 2));
      ctx.fill();
    }
  }

  // A keyboard: white keys across the strip, black keys shorter on top, C's named.
  drawKeys(ctx) {
    const top = this.y(this.high), bottom = this.y(this.low) + this.rowPx;
    ctx.fillStyle = COLOURS.keyWhite;
    ctx.fillRect(0, top, KEYS_WIDTH, bottom - top);
    ctx.font = `${Math.min(10, this.rowPx + 1)}px system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    for (let p = this.low; p <= this.high; p += 1) {
      const y = this.y(p);
      if (BLACK.has(p % 12)) {
        ctx.fillStyle = COLOURS.keyBlack;
        ctx.fillRect(0, y + 1, KEYS_WIDTH * 0.6, this.rowPx - 2);
      } else if (p % 12 === 0 || p % 12 === 5) {  // the line under C and F between white keys
        ctx.fillStyle = COLOURS.keyLine;
        ctx.fillRect(0, y + this.rowPx - 0.5, KEYS_WIDTH, 1);
      }
      if (p % 12 === 0 && this.rowPx >= 6) {
        ctx.fillStyle = COLOURS.keyText;
        ctx.fillText(pitchName(p), KEYS_WIDTH - 22, y + this.rowPx / 2);
      }
    }
    ctx.fillStyle = COLOURS.back;
    ctx.fillRect(0, 0, KEYS_WIDTH, RULER);
    ctx.fillStyle = COLOURS.bar;
    ctx.fillRect(KEYS_WIDTH - 1, RULER, 1, bottom - RULER);
  }

  drawPlayhead(ctx, height) {
    ctx.fillStyle = COLOURS.playhead;
    ctx.fillRect(Math.round(this.x(this.beat)) - 1, 0, 2, height);
  }

  drawEmpty(ctx, width, height) {
    ctx.fillStyle = COLOURS.empty;
    ctx.font = "15px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText("Press Generate: the take appears here", (width + KEYS_WIDTH) / 2, height / 2);
    ctx.textAlign = "start";
  }

  // Move the playhead (beats, or null to hide it); keeps it in view while playing.
  setPlayhead(beat) {
    this.beat = beat;
    this.draw();
    const wrap = this.canvas.parentElement;
    if (beat !== null && wrap.scrollWidth > wrap.clientWidth) {
      const x = this.x(beat);
      if (x < wrap.scrollLeft + KEYS_WIDTH || x > wrap.scrollLeft + wrap.clientWidth - 40) {
        wrap.scrollLeft = Math.max(0, x - KEYS_WIDTH - 40);
      }
    }
  }
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

// A small picture of a take for the list of takes.
export function drawThumbnail(canvas, take) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 200, height = canvas.clientHeight || 26;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  if (!take.notes.length) return;
  const pitches = take.notes.map((n) => n[2]);
  const low = Math.min(...pitches) - 1, span = Math.max(...pitches) - low + 2;
  const beatPx = width / Math.max(take.end, 1);
  for (const [start, end, pitch] of take.notes) {
    ctx.fillStyle = start < take.primer_end - 1e-9 ? COLOURS.primer : COLOURS.note;
    ctx.fillRect(start * beatPx, height - ((pitch - low + 1) / span) * height,
                 Math.max(1, (end - start) * beatPx - 0.5), Math.max(1.5, height / span));
  }
}
