/**
 * A TypeDoc plugin for `npm run docs:api` (typedoc.json): names the modules of @arc/core's entry
 * points by their import paths (`@arc/core/client`) instead of their file names (`index`,
 * `client`), without a `@module` tag in each entry file.
 */
import { Converter } from 'typedoc';

const NAMES = { index: '@arc/core', client: '@arc/core/client', express: '@arc/core/express', redis: '@arc/core/redis' };

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.children ?? []) {
      const name = NAMES[module.name];
      if (name === undefined) throw new Error(`typedoc-entry-names: no import path for the module "${module.name}"`);
      module.name = name;
    }
  });
}
