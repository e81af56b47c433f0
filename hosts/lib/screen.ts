// A live view on a terminal (`wopte top`, the demo): drawn on the alternate
// screen, as top(1) and less(1) do, so the scrollback is left as it was; the
// cursor hidden while it runs; both restored on exit, Ctrl-C and errors.
// Off a terminal (a pipe, a log) each frame is printed after the last.

const ENTER = "\x1b[?1049h\x1b[?25l", LEAVE = "\x1b[?25h\x1b[?1049l", HOME_CLEAR = "\x1b[H\x1b[2J";

export class LiveScreen {
  private active = false;
  private readonly restore = () => this.stop();

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  get tty(): boolean { return this.out.isTTY === true; }

  start(): void {
    if (!this.tty || this.active) return;
    this.active = true;
    this.out.write(ENTER);
    process.once("exit", this.restore);
  }

  /** Replace what is on the screen with `text` (or print it after the last frame off a terminal). */
  draw(text: string): void {
    if (this.active) this.out.write(HOME_CLEAR + text + "\n");
    else this.out.write(text + "\n\n");
  }

  /** Back to the normal screen with the cursor shown; safe to call twice. */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.out.write(LEAVE);
    process.removeListener("exit", this.restore);
  }
}
