/**
 * The built inspector (npm run build, build.mjs): index.html names the hashed assets that exist,
 * and nothing in the build loads or calls anything from another origin.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { distDir, inspectorFiles, inspectorProblem } from '../index.cjs';

describe('the build', () => {
  it('is there (run npm run build first)', () => {
    expect(inspectorProblem()).toBeNull();
  });

  it('is index.html, one script and one stylesheet, which index.html names', () => {
    const files = inspectorFiles().sort();
    expect(files).toEqual([
      expect.stringMatching(/^app-[A-Z0-9]+\.js$/),
      expect.stringMatching(/^app-style-[A-Z0-9]+\.css$/),
      'index.html',
    ]);
    const html = readFileSync(join(distDir, 'index.html'), 'utf8');
    expect(html).toContain(`<script type="module" src="./${files[0]}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="./${files[1]}" />`);
  });

  it('refers to no other origin: no absolute URL in a src or href, no external import', () => {
    for (const name of inspectorFiles()) {
      const text = readFileSync(join(distDir, name), 'utf8');
      expect(text).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
      expect(text).not.toMatch(/\bimport\s*\(?\s*["'](?:https?:)?\/\//);
      expect(text).not.toMatch(/@import\s+url\(\s*["']?(?:https?:)?\/\//);
    }
  });
});
