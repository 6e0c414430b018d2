/**
 * The invoice summary report of the finance agent's tasks: which invoice a request names, and
 * its summary (lines, subtotal, tax, total) from a small built-in ledger. The ledger stands in
 * for an accounting system: the figures are fixed data, not generated, so a report is the same
 * on every run and every replica (a task may run more than once: at least once delivery).
 * Amounts are computed in cents and shown in currency units with two decimals.
 */
import { messageText, type Message } from '@arc/core';

export interface InvoiceLine {
  description: string;
  quantity: number;
  unitPrice: number;
  amount: number;
}

/** The JSON summary (the report's DataPart). */
export interface InvoiceSummary {
  invoice: string;
  customer: string;
  currency: string;
  issuedOn: string;
  dueOn: string;
  lines: InvoiceLine[];
  totals: { subtotal: number; taxRate: number; tax: number; total: number };
}

interface LedgerEntry {
  customer: string;
  currency: string;
  issuedOn: string;
  dueOn: string;
  /** Tax rate in percent. */
  taxPercent: number;
  lines: Array<{ description: string; quantity: number; unitCents: number }>;
}

/** The built-in ledger. INV-12345 is the number the ARC guides use in their examples. */
const LEDGER: Readonly<Record<string, LedgerEntry>> = {
  'INV-12345': {
    customer: 'Acme Corp',
    currency: 'EUR',
    issuedOn: '2026-11-03',
    dueOn: '2026-12-03',
    taxPercent: 20,
    lines: [
      { description: 'Consulting (hours)', quantity: 12, unitCents: 15_000 },
      { description: 'Cloud hosting, November', quantity: 1, unitCents: 42_000 },
      { description: 'Support plan', quantity: 1, unitCents: 9_900 },
    ],
  },
  'INV-20001': {
    customer: 'Globex GmbH',
    currency: 'EUR',
    issuedOn: '2026-10-15',
    dueOn: '2026-11-14',
    taxPercent: 19,
    lines: [
      { description: 'Licences (seats)', quantity: 25, unitCents: 4_800 },
      { description: 'Onboarding workshop', quantity: 1, unitCents: 120_000 },
    ],
  },
  'INV-31337': {
    customer: 'Initech Ltd',
    currency: 'GBP',
    issuedOn: '2026-09-30',
    dueOn: '2026-10-30',
    taxPercent: 20,
    lines: [{ description: 'Printer maintenance', quantity: 3, unitCents: 8_550 }],
  },
};

/** Invoice numbers the ledger holds (for the prompt that asks for another one). */
export const KNOWN_INVOICES: readonly string[] = Object.keys(LEDGER);

const INVOICE_NUMBER = /\bINV-(\d{1,10})\b/gi;

/**
 * The invoice number the caller asks about: the last one in the most recent user message that
 * names one (a later answer to "which invoice?" wins over an earlier request), upper-cased.
 */
export function requestedInvoice(messages: readonly Message[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    const found = [...messageText(m).matchAll(INVOICE_NUMBER)];
    if (found.length > 0) return `INV-${found[found.length - 1]![1]}`;
  }
  return undefined;
}

/** The summary of an invoice of the ledger, or undefined when the ledger does not hold it. */
export function invoiceSummary(invoice: string): InvoiceSummary | undefined {
  const entry = Object.hasOwn(LEDGER, invoice) ? LEDGER[invoice] : undefined;
  if (!entry) return undefined;
  let subtotalCents = 0;
  const lines = entry.lines.map((l) => {
    const cents = l.quantity * l.unitCents;
    subtotalCents += cents;
    return { description: l.description, quantity: l.quantity, unitPrice: l.unitCents / 100, amount: cents / 100 };
  });
  const taxCents = Math.round((subtotalCents * entry.taxPercent) / 100);
  return {
    invoice,
    customer: entry.customer,
    currency: entry.currency,
    issuedOn: entry.issuedOn,
    dueOn: entry.dueOn,
    lines,
    totals: {
      subtotal: subtotalCents / 100,
      taxRate: entry.taxPercent / 100,
      tax: taxCents / 100,
      total: (subtotalCents + taxCents) / 100,
    },
  };
}

/** One line of text for people: the report's TextPart. */
export function summaryText(s: InvoiceSummary): string {
  const money = (n: number): string => `${n.toFixed(2)} ${s.currency}`;
  const t = s.totals;
  return (
    `Invoice ${s.invoice} (${s.customer}, issued ${s.issuedOn}, due ${s.dueOn}): ${s.lines.length} line(s), ` +
    `subtotal ${money(t.subtotal)}, tax ${Math.round(t.taxRate * 100)}% ${money(t.tax)}, total ${money(t.total)}.`
  );
}
