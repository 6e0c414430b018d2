/**
 * docs/errors.md lists every ARC code exactly as src/errors/codes.ts defines it, both ways
 * (STYLE.md 14, after fastify's test/internals/errors.test.js): a code missing from the doc, a
 * row whose code the table lacks, or a differing name, default message, HTTP status or
 * Retry-After fails. The "When it is used" column is prose and not compared.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allErrorCodes, isRetryable, type ErrorCodeInfo } from '../../src/errors/codes';

const DOC = join(__dirname, '..', '..', '..', '..', 'docs', 'errors.md');
const HEADER = '| Code | Name | Default message | HTTP status | Retry-After | When it is used |';

interface Row {
  code: number;
  name: string;
  message: string;
  httpStatus: number;
  retryAfter: boolean;
}

/** The rows of the doc's table: every line after HEADER that starts with `| -<digits> |`. */
function parseDoc(markdown: string): Row[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(HEADER);
  if (start < 0) throw new Error(`docs/errors.md has no table headed ${HEADER}`);
  const rows: Row[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim());
    rows.push({
      code: Number(cells[0]),
      name: cells[1] ?? '',
      message: cells[2] ?? '',
      httpStatus: Number(cells[3]),
      retryAfter: cells[4] === 'yes',
    });
  }
  return rows;
}

const rowOf = (info: ErrorCodeInfo): Row => ({
  code: info.code,
  name: info.name,
  message: info.message,
  httpStatus: info.httpStatus,
  retryAfter: isRetryable(info.code),
});
/** How a row reads in the doc (the last column to be written by hand). */
const markdownOf = (r: Row): string => `| ${r.code} | ${r.name} | ${r.message} | ${r.httpStatus} | ${r.retryAfter ? 'yes' : ''} | … |`;

/** What differs between the doc's rows and the table, each way. */
function compare(doc: Row[], table: Row[]): { missing: string[]; extra: string[]; differing: string[]; duplicated: number[] } {
  const docByCode = new Map(doc.map((r) => [r.code, r]));
  const tableByCode = new Map(table.map((r) => [r.code, r]));
  return {
    missing: table.filter((r) => !docByCode.has(r.code)).map(markdownOf),
    extra: doc.filter((r) => !tableByCode.has(r.code)).map((r) => `${r.code} ${r.name}`),
    differing: doc
      .filter((r) => tableByCode.has(r.code))
      .filter((r) => JSON.stringify(r) !== JSON.stringify(tableByCode.get(r.code)))
      .map((r) => `doc ${markdownOf(r)}  codes.ts ${markdownOf(tableByCode.get(r.code)!)}`),
    duplicated: doc.map((r) => r.code).filter((code, i, all) => all.indexOf(code) !== i),
  };
}

describe('docs/errors.md', () => {
  const doc = parseDoc(readFileSync(DOC, 'utf8'));
  const table = allErrorCodes().map(rowOf);

  it('has a row for every code of errors/codes.ts (missing rows shown as they should read)', () => {
    expect(compare(doc, table).missing).toEqual([]);
  });

  it('has no row for a code errors/codes.ts does not define, and no code twice', () => {
    const { extra, duplicated } = compare(doc, table);
    expect(extra).toEqual([]);
    expect(duplicated).toEqual([]);
  });

  it('says for each code what errors/codes.ts says: name, default message, HTTP status, Retry-After', () => {
    expect(compare(doc, table).differing).toEqual([]);
  });

  it('lists the codes in the table order', () => {
    expect(doc.map((r) => r.code)).toEqual(table.map((r) => r.code));
  });

  it('the comparison catches each kind of drift (so the checks above can fail)', () => {
    const [first, second, ...rest] = table;
    const doctored = [{ ...first!, httpStatus: 418 }, ...rest, { ...second!, code: -49999, name: 'Invented' }];
    expect(compare(doctored, table)).toEqual({
      missing: [markdownOf(second!)],
      extra: ['-49999 Invented'],
      differing: [`doc ${markdownOf({ ...first!, httpStatus: 418 })}  codes.ts ${markdownOf(first!)}`],
      duplicated: [],
    });
    const markdown = `intro\n\n${HEADER}\n| - | - | - | - | - | - |\n${markdownOf(first!)}\n${markdownOf(first!)}\n\nafter\n| -1 | not | in | the | table | |\n`;
    expect(parseDoc(markdown)).toEqual([first, first]);
    expect(compare(parseDoc(markdown), table).duplicated).toEqual([first!.code]);
  });
});
