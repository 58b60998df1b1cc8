import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { currentDisplay } from './display-mode.js';
import { fieldMarks } from './field-marks.js';

const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

/** Page templates in views/ (Eta, auto-escaped); one layout, one stylesheet. */
export class Views {
  readonly #eta: Eta;

  constructor(options: { cache: boolean; devMode: boolean }) {
    this.#eta = new Eta({ views: VIEWS_DIR, cache: options.cache, autoEscape: true, autoTrim: false });
    this.devMode = options.devMode;
  }

  readonly devMode: boolean;

  /**
   * A template kept outside views/ (a sign-in method's, in its folder), drawn and included as
   * `@<name>`. Read once, at start-up.
   */
  add(name: string, file: URL): void {
    this.#eta.loadTemplate(`@${name}`, readFileSync(file, 'utf8'));
  }

  render(name: string, data: Record<string, unknown>): string {
    return this.#eta.render(name, {
      devMode: this.devMode,
      display: currentDisplay(),
      ...data,
      // Every template marks its fields the same way (field-marks.ts).
      ...fieldMarks(data),
    });
  }
}
