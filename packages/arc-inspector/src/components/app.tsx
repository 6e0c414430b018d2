/**
 * The inspector: connection settings, the agent picker, the Chat / Task / Call tabs and the
 * exchange log. Each tab keeps its state while another is shown; picking another agent starts
 * the tabs afresh.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { agentInfoUrl, parseAgentList, withDetails, type AgentEntry } from '../agents';
import { describeError, getJson, type Connection } from '../exchange';
import { loadSettings, resolveEndpoint, saveSettings, type Settings } from '../settings';
import { CallPanel } from './call';
import { ChatPanel } from './chat';
import { ExchangeLog } from './log';
import { TabList, TabPanel, type TabSpec } from './tabs';
import { TaskPanel } from './task';

type Tab = 'chat' | 'task' | 'call';
const TABS: TabSpec<Tab>[] = [
  { id: 'chat', label: 'Chat' },
  { id: 'task', label: 'Task' },
  { id: 'call', label: 'Call' },
];

export function App() {
  const [settings, setSettings] = useState<Settings>(loadSettings);
  const [agents, setAgents] = useState<AgentEntry[]>([]);
  const [agentsNote, setAgentsNote] = useState<{ text: string; error: boolean }>({ text: 'Loading agents…', error: false });
  const [selectedId, setSelectedId] = useState('');
  const [tab, setTab] = useState<Tab>('chat');
  const loads = useRef(0);

  useEffect(() => saveSettings(settings), [settings]);
  const resolved = resolveEndpoint(settings.endpoint);
  const selected = agents.find((a) => a.id === selectedId);

  const loadAgents = async (): Promise<void> => {
    const load = ++loads.current;
    const endpoint = resolveEndpoint(settings.endpoint);
    if ('problem' in endpoint) {
      setAgentsNote({ text: endpoint.problem, error: true });
      return;
    }
    const url = agentInfoUrl(endpoint.url, window.location.href);
    setAgentsNote({ text: 'Loading agents…', error: false });
    const { exchange, envelope } = await getJson(url, settings.token, 'GET /agent-info');
    if (load !== loads.current) return;
    if (exchange.error !== undefined || envelope === undefined) {
      const why = exchange.error ? describeError(exchange.error) : 'the answer is not JSON';
      const hint = exchange.status === 401 ? ' (set a bearer token above)' : '';
      setAgentsNote({ text: `Could not load the agents from ${url}: ${why}${hint}`, error: true });
      return;
    }
    try {
      const list = parseAgentList(envelope, url);
      setAgents(list);
      setSelectedId((current) => (list.some((a) => a.id === current) ? current : (list[0]?.id ?? '')));
      setAgentsNote({ text: `${list.length} agent${list.length === 1 ? '' : 's'} from ${new URL(url).pathname}`, error: false });
    } catch (err) {
      setAgentsNote({ text: `${url}: ${(err as Error).message}`, error: true });
    }
  };
  useEffect(() => void loadAgents(), []);

  // An agent listed with its own /agent-info (the gateway's list): read its methods and description once.
  useEffect(() => {
    if (selected === undefined || selected.methods !== undefined || selected.agentInfo === undefined) return;
    const from = selected.agentInfo;
    void getJson(from, settings.token, `GET /agent-info (${selected.id})`).then(({ exchange, envelope }) => {
      if (exchange.error !== undefined || envelope === undefined) return;
      try {
        const detailed = withDetails(selected, envelope, from);
        setAgents((list) => list.map((a) => (a.id === detailed.id ? detailed : a)));
      } catch {
        // The log shows the answer; the picker keeps what the list said.
      }
    });
  }, [selected?.id, selected?.methods, settings.token]);

  const conn: Connection | undefined = useMemo(() => {
    if (selected === undefined) return undefined;
    const endpoint = selected.endpoint ?? ('url' in resolved ? resolved.url : undefined);
    return endpoint === undefined ? undefined : { endpoint, token: settings.token, requestAgent: settings.requestAgent || 'arc-inspector' };
  }, [selected, settings.token, settings.requestAgent, 'url' in resolved ? resolved.url : '']);

  const set = (key: keyof Settings) => (event: Event) =>
    setSettings({ ...settings, [key]: (event.currentTarget as HTMLInputElement).value });

  return (
    <div class="layout">
      <header class="top">
        <h1>ARC inspector</h1>
        <form
          class="settings"
          aria-label="Connection"
          onSubmit={(e) => {
            e.preventDefault();
            void loadAgents();
          }}
        >
          <label>
            Endpoint
            <input
              name="endpoint"
              value={settings.endpoint}
              onInput={set('endpoint')}
              spellcheck={false}
              aria-invalid={'problem' in resolved}
            />
          </label>
          <label>
            Bearer token
            <input name="token" type="password" autocomplete="off" value={settings.token} onInput={set('token')} placeholder="none" />
          </label>
          <label>
            requestAgent
            <input name="requestAgent" value={settings.requestAgent} onInput={set('requestAgent')} spellcheck={false} />
          </label>
          <button type="submit">Load agents</button>
        </form>
      </header>
      <main class="panes">
        <section class="work" aria-label="Work with an agent">
          <AgentPicker agents={agents} selected={selected} note={agentsNote} onSelect={setSelectedId} conn={conn} />
          <TabList label="What to do" tabs={TABS} active={tab} onSelect={setTab} />
          {selected === undefined || conn === undefined ? (
            <p class="hint">Pick an agent to chat with it, give it a task or call any method.</p>
          ) : (
            <div key={`${selected.id} ${conn.endpoint}`}>
              <TabPanel id="chat" active={tab === 'chat'}>
                <ChatPanel conn={conn} agentId={selected.id} />
              </TabPanel>
              <TabPanel id="task" active={tab === 'task'}>
                <TaskPanel conn={conn} agentId={selected.id} />
              </TabPanel>
              <TabPanel id="call" active={tab === 'call'}>
                <CallPanel conn={conn} agent={selected} />
              </TabPanel>
            </div>
          )}
        </section>
        <ExchangeLog />
      </main>
    </div>
  );
}

function AgentPicker(props: {
  agents: AgentEntry[];
  selected: AgentEntry | undefined;
  note: { text: string; error: boolean };
  conn: Connection | undefined;
  onSelect: (id: string) => void;
}) {
  const { agents, selected, note, conn } = props;
  return (
    <div class="agent">
      <label>
        Agent
        <select value={selected?.id ?? ''} onChange={(e) => props.onSelect(e.currentTarget.value)} disabled={agents.length === 0}>
          {agents.length === 0 && <option value="">(none)</option>}
          {agents.map((a) => (
            <option value={a.id}>{a.id}</option>
          ))}
        </select>
      </label>
      <p class={note.error ? 'note error' : 'note'} role={note.error ? 'alert' : 'status'}>
        {note.text}
      </p>
      {selected !== undefined && (
        <dl class="agent-info">
          <dt>Description</dt>
          <dd>{selected.description ?? '(none given)'}</dd>
          <dt>Methods</dt>
          <dd>{selected.methods === undefined ? '(reading…)' : selected.methods.map((m) => <code class="method">{m}</code>)}</dd>
          <dt>Endpoint</dt>
          <dd>
            <code>{conn?.endpoint ?? '(none)'}</code>
            {selected.endpoint !== undefined && ' (from the agent list)'}
          </dd>
        </dl>
      )}
    </div>
  );
}
