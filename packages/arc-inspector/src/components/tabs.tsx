/** Tabs as the WAI-ARIA pattern has them: arrow keys, Home and End move between tabs. */
import type { ComponentChildren } from 'preact';

export interface TabSpec<T extends string> {
  id: T;
  label: string;
}

export function TabList<T extends string>(props: { label: string; tabs: TabSpec<T>[]; active: T; onSelect: (id: T) => void }) {
  const { tabs, active, onSelect } = props;
  const move = (event: KeyboardEvent): void => {
    const i = tabs.findIndex((t) => t.id === active);
    const to =
      event.key === 'ArrowRight'
        ? (i + 1) % tabs.length
        : event.key === 'ArrowLeft'
          ? (i - 1 + tabs.length) % tabs.length
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? tabs.length - 1
              : -1;
    if (to === -1) return;
    event.preventDefault();
    const target = tabs[to]!;
    onSelect(target.id);
    document.getElementById(`tab-${target.id}`)?.focus();
  };
  return (
    <div class="tabs" role="tablist" aria-label={props.label} onKeyDown={move}>
      {tabs.map((t) => (
        <button
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={t.id === active}
          aria-controls={`panel-${t.id}`}
          tabIndex={t.id === active ? 0 : -1}
          onClick={() => onSelect(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** A tab's panel; hidden, not removed, when another tab is active (its state is kept). */
export function TabPanel(props: { id: string; active: boolean; children: ComponentChildren }) {
  return (
    <div class="panel" role="tabpanel" id={`panel-${props.id}`} aria-labelledby={`tab-${props.id}`} hidden={!props.active}>
      {props.children}
    </div>
  );
}
