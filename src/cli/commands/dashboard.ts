import React from 'react';
import { ClusterFeed } from '../../tui/feed';
import { createDashboard } from '../../tui/app';
import { VIEWS, layout, summary, tableFor } from '../../tui/model';
import { clientFor, resolveProfile, type CliIO, type ProfileOpts } from '../io';

export interface DashboardOpts extends ProfileOpts {
  once?: boolean;
  namespace?: string;
}

/**
 * `minictl dashboard`: a live terminal view of nodes, pods, workloads and events. `--once` (or a
 * non-TTY stdout) prints one plain-text snapshot of every view and exits.
 */
export async function dashboardCommand(o: DashboardOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const client = clientFor(profile, paths);
  let listener = (): void => undefined;
  const feed = new ClusterFeed(client, () => listener());
  try {
    await feed.start();
    if (o.once || !io.stdout.isTTY) {
      const s = feed.snapshot();
      io.stdout.write(`minictl ${profile} — ${summary(s)}\n`);
      for (const v of VIEWS) {
        io.stdout.write(`\n== ${v}\n`);
        const t = tableFor(v, s, o.namespace, Date.now());
        io.stdout.write(t.rows.length ? layout(t, 200).join('\n') + '\n' : '(none)\n');
      }
      return 0;
    }
    // ink is ESM-only: load it (and the JSX components bound to it) at run time.
    const ink = await import('ink');
    const Dashboard = createDashboard(ink);
    const inst = ink.render(React.createElement(Dashboard, { feed, subscribe: (fn: () => void) => (listener = fn), title: `minictl · ${profile}` }), { stdout: io.stdout as NodeJS.WriteStream, stdin: io.stdin as NodeJS.ReadStream, exitOnCtrlC: true });
    await inst.waitUntilExit();
    return 0;
  } finally {
    feed.close();
    client.close();
  }
}
