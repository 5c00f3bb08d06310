import type * as InkModule from 'ink' with { 'resolution-mode': 'import' };
import React, { useEffect, useState } from 'react';
import { VIEWS, layout, summary, tableFor, type ViewName } from './model';
import type { ClusterFeed } from './feed';

/**
 * The interactive dashboard. ink is ESM-only, so the caller imports it and passes the module in;
 * everything shown comes from the pure view model (model.ts).
 * Keys: ←/→ or Tab switch view · 1-4 pick a view · n next namespace · ↑/↓ scroll · q quit.
 */
export interface DashboardProps {
  feed: ClusterFeed;
  subscribe: (fn: () => void) => void;
  title: string;
}

export function createDashboard(ink: typeof InkModule): React.FC<DashboardProps> {
  const { Box, Text, useApp, useInput, useStdout } = ink;
  return function Dashboard({ feed, subscribe, title }: DashboardProps) {
    const [, setTick] = useState(0);
    const [view, setView] = useState<ViewName>('pods');
    const [nsIdx, setNsIdx] = useState(0);
    const [scroll, setScroll] = useState(0);
    const app = useApp();
    const { stdout } = useStdout();
    useEffect(() => {
      subscribe(() => setTick((t) => t + 1));
      const t = setInterval(() => setTick((x) => x + 1), 1000);
      return () => clearInterval(t);
    }, []);
    const snap = feed.snapshot();
    const namespaces = [undefined, ...[...new Set(snap.pods.map((p) => p.metadata.namespace ?? ''))].sort()];
    const ns = namespaces[nsIdx % namespaces.length];
    useInput((input, key) => {
      if (input === 'q' || key.escape || (key.ctrl && input === 'c')) app.exit();
      else if (key.tab || key.rightArrow) setView(VIEWS[(VIEWS.indexOf(view) + 1) % VIEWS.length]);
      else if (key.leftArrow) setView(VIEWS[(VIEWS.indexOf(view) + VIEWS.length - 1) % VIEWS.length]);
      else if (/^[1-4]$/.test(input)) setView(VIEWS[Number(input) - 1]);
      else if (input === 'n') setNsIdx((i) => (i + 1) % namespaces.length);
      else if (key.downArrow) setScroll((s) => s + 1);
      else if (key.upArrow) setScroll((s) => Math.max(0, s - 1));
      if (key.tab || key.leftArrow || key.rightArrow || /^[1-4n]$/.test(input)) setScroll(0);
    });
    const width = stdout?.columns || 100;
    const height = (stdout?.rows || 30) - 6;
    const table = tableFor(view, snap, ns, Date.now());
    const lines = layout(table, width);
    const body = lines.slice(1).slice(scroll, scroll + Math.max(3, height));
    const colour = { ok: 'green', warn: 'yellow', bad: 'red', none: undefined } as const;
    return (
      <Box flexDirection="column">
        <Box>
          <Text bold>{title}</Text>
          <Text dimColor>{`  ${summary(snap)}`}</Text>
        </Box>
        <Box>
          {VIEWS.map((v, i) => (
            <Text key={v} inverse={v === view}>{` ${i + 1} ${v} `}</Text>
          ))}
          <Text dimColor>{`   namespace: ${ns ?? 'all'} (n)   ←/→ view  ↑/↓ scroll  q quit`}</Text>
        </Box>
        <Text bold>{lines[0]}</Text>
        {body.map((l, i) => (
          <Text key={i} color={colour[table.rows[i + scroll]?.tone ?? 'none']}>
            {l}
          </Text>
        ))}
        {table.rows.length === 0 ? <Text dimColor>(nothing here yet)</Text> : null}
        {feed.error ? <Text color="red">{`watch error: ${feed.error} (reconnecting)`}</Text> : null}
      </Box>
    );
  };
}
