import { Command, CommanderError, Option } from 'commander';
import { CliError, type CliIO } from './io';
import { startCommand } from './commands/start';
import { dashboardCommand } from './commands/dashboard';
import { deleteClusterCommand, statusCommand, stopCommand } from './commands/lifecycle';
import { serviceCommand } from './commands/service';
import { applyCommand, deleteObjectsCommand, getCommand } from './commands/resources';
import { nodeAddCommand, nodeListCommand, nodeRemoveCommand, nodeStartCommand, nodeStopCommand } from './commands/node';
import { ApiError } from '../util/errors';
import { VERSION_INFO } from '../apiserver/discovery';

/**
 * The CLI: `run(argv, io)` parses and runs one command and returns its exit code. Errors are
 * printed once, as one line, here at the top.
 */
const collect = (v: string, prev: string[] = []) => [...prev, v];

function profileOptions(c: Command): Command {
  return c
    .option('-p, --profile <name>', 'cluster profile name (env MINICTL_PROFILE)', undefined)
    .option('--data-dir <dir>', 'data directory of the profile (default ~/.minictl/<profile>, env MINICTL_DATA_DIR)');
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  let code = 0;
  const program = new Command('minictl')
    .description('minictl: a one-process local Kubernetes. The API server, store, scheduler, controllers and a Docker-driven kubelet in one process, driven by the real kubectl.')
    .version(`minictl 0.1.0 (Kubernetes API ${VERSION_INFO.gitVersion})`, '--version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showSuggestionAfterError(true);

  profileOptions(program.command('start'))
    .description('start the cluster (in the background) and point kubectl at it')
    .option('--port <port>', 'API server port on 127.0.0.1 (default: the profile\'s previous port, else a free one)')
    .option('--foreground', 'run the daemon in this terminal instead of the background')
    .option('--wait <seconds>', 'how long to wait for the cluster to be ready', '60')
    .option('--fsync', 'fsync every write (survives power loss, slower); by default writes survive a killed process')
    .option('-v, --v <level>', 'log verbosity of the daemon (0-4)', '0')
    .option('-n, --nodes <count>', 'number of nodes of a new cluster (each a Docker network driven by its own kubelet)', '1')
    .option('--cpus <cpus>', 'CPU capacity of each node of a new cluster, e.g. 2 or 1500m (default: the host\'s)')
    .option('--memory <size>', 'memory capacity of each node of a new cluster, e.g. 4Gi or 2048 (MiB) (default: the host\'s)')
    .addOption(new Option('--runtime <runtime>', 'container runtime of the nodes: docker, or fake (no containers)').choices(['docker', 'fake']).default('docker'))
    .addHelpText('after', '\nThe kubectl context named after the profile is merged into $KUBECONFIG (or ~/.kube/config) and made current.\n--nodes, --cpus and --memory shape a new cluster; an existing one keeps its nodes (change them with minictl node).\nExamples:\n  minictl start\n  minictl start --profile ci --port 6443\n  minictl start --nodes 3 --cpus 2 --memory 4Gi\n')
    .action(async (o) => {
      code = await startCommand(o, io);
    });

  profileOptions(program.command('stop'))
    .description('stop the cluster; its state is kept for the next start')
    .action(async (o) => {
      code = await stopCommand(o, io);
    });

  profileOptions(program.command('status'))
    .description('show whether the cluster is running and how to reach it (exit 0 running, 3 stopped, 7 nonexistent)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o) => {
      code = await statusCommand(o, io);
    });

  profileOptions(program.command('delete'))
    .description('delete the cluster (no arguments), or objects: -f FILE | KIND NAME...')
    .argument('[args...]', 'KIND NAME... (omit to delete the whole cluster)')
    .option('-f, --filename <file>', 'file, directory or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'process directories recursively')
    .option('-n, --namespace <ns>', 'namespace')
    .option('--ignore-not-found', 'treat "not found" as success')
    .addHelpText('after', '\nExamples:\n  minictl delete                  # stop and remove the cluster, its data and kubeconfig entry\n  minictl delete -f web.yaml\n  minictl delete pod web-0 -n apps\n')
    .action(async (args: string[], o) => {
      code = args.length || o.filename ? await deleteObjectsCommand(args, o, io) : await deleteClusterCommand(o, io);
    });

  const node = program.command('node').description('add, remove, stop, start and list the nodes of the cluster');
  profileOptions(node.command('add'))
    .description('add a node (a Docker network with its own kubelet), or simulated nodes (no containers)')
    .argument('[name]', 'node name (default: <profile>-mNN, or <profile>-sNNNN with --simulated)')
    .option('--cpus <cpus>', 'CPU capacity, e.g. 2 or 1500m (default: the host\'s)')
    .option('--memory <size>', 'memory capacity, e.g. 4Gi or 2048 (MiB) (default: the host\'s)')
    .option('--simulated', 'a hollow node: its kubelet uses the fake runtime, pods run no containers')
    .option('--count <k>', 'how many nodes to add', '1')
    .option('--wait <seconds>', 'how long to wait for the nodes to be Ready (0: do not wait)', '120')
    .addHelpText('after', '\nExamples:\n  minictl node add\n  minictl node add worker-1 --cpus 2 --memory 4Gi\n  minictl node add --simulated --count 1000\n')
    .action(async (name: string | undefined, o) => {
      code = await nodeAddCommand(name, o, io);
    });
  profileOptions(node.command('rm'))
    .alias('delete')
    .description('remove nodes: their kubelet stops, their containers and network are removed, their pods deleted')
    .argument('[names...]', 'node names')
    .option('--simulated', 'remove every simulated node')
    .option('--wait <seconds>', 'how long to wait for the containers to be removed', '60')
    .action(async (names: string[], o) => {
      code = await nodeRemoveCommand(names, o, io);
    });
  profileOptions(node.command('stop'))
    .description('simulate a node failure: its kubelet, containers and heartbeat stop (the node turns NotReady)')
    .argument('<name>', 'node name')
    .option('--wait <seconds>', 'how long to wait for its containers to stop', '60')
    .action(async (name: string, o) => {
      code = await nodeStopCommand(name, o, io);
    });
  profileOptions(node.command('start'))
    .description('start a stopped node again (its kubelet restarts the pods\' containers)')
    .argument('<name>', 'node name')
    .option('--wait <seconds>', 'how long to wait for it to be Ready (0: do not wait)', '120')
    .action(async (name: string, o) => {
      code = await nodeStartCommand(name, o, io);
    });
  profileOptions(node.command('ls'))
    .alias('list')
    .description('list the nodes: NAME STATUS ROLES TYPE PODS AGE')
    .option('-o, --output <format>', 'json or name')
    .action(async (o) => {
      code = await nodeListCommand(o, io);
    });

  profileOptions(program.command('service'))
    .alias('svc')
    .description('print or open the URL of a NodePort or LoadBalancer Service (served on 127.0.0.1)')
    .argument('<name>', 'service name')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--url', 'print the URL(s) instead of opening a browser')
    .option('--wait <seconds>', 'wait up to this long for a ready endpoint', '0')
    .addHelpText('after', '\nClusterIP Services are reachable only inside the cluster: use kubectl port-forward.\nExamples:\n  minictl service web --url\n  minictl service grafana -n monitoring\n')
    .action(async (name: string, o) => {
      code = await serviceCommand(name, o, io);
    });

  profileOptions(program.command('apply'))
    .description('create or update objects from manifests, like kubectl apply')
    .option('-f, --filename <file>', 'file, directory or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'process directories recursively')
    .option('-n, --namespace <ns>', 'namespace for objects that do not set one')
    .action(async (o) => {
      code = await applyCommand(o, io);
    });

  profileOptions(program.command('get'))
    .description('list objects, like kubectl get')
    .argument('<kind>', 'resource type(s), e.g. pods, deploy, svc,po, all, or KIND/NAME')
    .argument('[names...]', 'object names')
    .option('-n, --namespace <ns>', 'namespace', undefined)
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-o, --output <format>', 'wide, yaml, json or name')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--show-labels', 'add a LABELS column')
    .option('--no-headers', 'omit the header line')
    .action(async (kind: string, names: string[], o) => {
      code = await getCommand(kind, names, { ...o, noHeaders: o.headers === false }, io);
    });

  profileOptions(program.command('dashboard'))
    .alias('ui')
    .description('live terminal view of nodes, pods, workloads and events (q quits)')
    .option('-n, --namespace <ns>', 'only this namespace (for --once; press n to cycle interactively)')
    .option('--once', 'print one plain-text snapshot and exit (the default when stdout is not a terminal)')
    .action(async (o) => {
      code = await dashboardCommand(o, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    if (e instanceof CliError) {
      io.stderr.write(`error: ${e.message}\n`);
      return e.code;
    }
    if (e instanceof ApiError) {
      io.stderr.write(`Error from server (${e.reason}): ${e.message}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET')) {
      io.stderr.write(`error: cannot reach the cluster's API server (${err.code}); is it running? Try: minictl status\n`);
      return 1;
    }
    io.stderr.write(`error: ${err?.message ?? String(e)}\n`);
    return 1;
  }
  return code;
}

/** Entry used by bin/minictl. */
export function main(): void {
  run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() }).then(
    (c) => {
      process.exitCode = c;
    },
    (e) => {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
