// The ablation tables stored in this browser, listed in the Runs panel as groups of runs (issue #35): each
// table with its rows and seeds, status, wall time, the jobs it finished of those it plans, and the models
// it keeps (the warm start and each pre-training); its table as markdown, and Delete for the whole group
// (the table, its job records, its models and their index embeddings, in one transaction).
import { useCallback, useEffect, useState } from 'react';
import {
  ABLATION_TABLE_JOB,
  ablationMarkdown,
  deleteAblationGroup,
  listAblationGroups,
  tableRows,
  type AblationGroup,
} from '../app/ablations-controller';
import { formatEta } from '../app/progress-view';
import { formatWhen } from '../app/runs-view';
import type { Runtime } from '../app/runtime';
import { useStudio } from '../app/studio-store';
import { downloadFile } from './download';

const isModelJob = (jobId: string) => jobId === 'warm-start' || jobId.startsWith('pretrain/');

function GroupRow({
  group,
  running,
  confirming,
  onAskDelete,
  onDelete,
  onKeep,
}: {
  group: AblationGroup;
  running: boolean;
  confirming: boolean;
  onAskDelete: () => void;
  onDelete: () => void;
  onKeep: () => void;
}) {
  const { table, jobs } = group;
  const s = table.settings;
  const models = jobs.filter((j) => isModelJob(j.jobId));
  const planned = table.plannedJobs !== undefined ? ` of ${table.plannedJobs}` : '';
  const status = running ? 'running' : table.status === 'running' ? 'cut off' : table.status;
  return (
    <li className="ablation-group" data-testid="ablation-group" data-table={table.id} data-status={status}>
      <div>
        <strong>Ablation table {table.id}</strong>{' '}
        <span className="muted">
          {formatWhen(table.createdAt)} · {table.corpusId}
        </span>
      </div>
      <div data-testid="ablation-group-summary">
        {s.rows.length} row{s.rows.length === 1 ? '' : 's'} × {s.seeds} seed{s.seeds === 1 ? '' : 's'} · {status}
        {table.status === 'done' && table.seconds !== undefined ? ` in ${formatEta(table.seconds)}` : ''} · {jobs.length}
        {planned} jobs finished · {models.length} model{models.length === 1 ? '' : 's'} kept
      </div>
      <details>
        <summary>Jobs</summary>
        <ul className="ablation-group-jobs">
          {jobs.map((j) => (
            <li key={j.jobId}>
              {j.jobId} ({j.seconds.toFixed(1)} s{j.em !== undefined ? `, EM ${(100 * j.em).toFixed(1)}` : ''}
              {j.recallAt5 !== undefined ? `, R@5 ${(100 * j.recallAt5).toFixed(1)}` : ''})
            </li>
          ))}
        </ul>
      </details>
      <div className="run-buttons">
        <button
          type="button"
          disabled={table.results.length === 0}
          onClick={() => downloadFile(ablationMarkdown(tableRows(table)), `ablations-${table.id}.md`, 'text/markdown')}
        >
          Markdown
        </button>
        {confirming ? (
          <span role="alertdialog" aria-label={`Delete ablation table ${table.id}?`}>
            Delete the table, its {jobs.length} job records and {models.length} models?{' '}
            <button type="button" onClick={onDelete} data-testid="ablation-group-delete-confirm">
              Delete
            </button>{' '}
            <button type="button" onClick={onKeep} autoFocus>
              Keep
            </button>
          </span>
        ) : (
          <button
            type="button"
            disabled={running}
            title={
              running
                ? 'This table is running in the Ablations panel: stop it there first'
                : 'Delete the table and everything it stored'
            }
            onClick={onAskDelete}
            aria-label={`Delete ablation table ${table.id}`}
          >
            Delete
          </button>
        )}
      </div>
    </li>
  );
}

export function AblationGroups({ rt, onChanged }: { rt: Runtime; onChanged: () => void }) {
  const [groups, setGroups] = useState<AblationGroup[]>([]);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const version = useStudio((s) => s.tablesVersion);
  const tableRunning = useStudio((s) => s.pageJob === ABLATION_TABLE_JOB);

  const reload = useCallback(() => {
    listAblationGroups(rt.store).then(setGroups, (e: Error) => setError(`Could not read the ablation tables: ${e.message}`));
  }, [rt.store]);
  useEffect(reload, [reload, version]);

  const remove = async (id: string) => {
    setConfirm(null);
    setError(null);
    try {
      await deleteAblationGroup(rt.store, id);
    } catch (e) {
      setError(`Could not delete ablation table ${id}: ${(e as Error).message}`);
    }
    useStudio.getState().tablesChanged();
    onChanged();
  };

  if (groups.length === 0 && !error) return null;
  // Only the newest table can be the one running (the panel runs or goes on with the latest).
  const newest = groups[0]?.table.id;
  return (
    <div className="ablation-groups" data-testid="ablation-groups">
      <h3>Ablation tables</h3>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul>
        {groups.map((g) => (
          <GroupRow
            key={g.table.id}
            group={g}
            running={tableRunning && g.table.id === newest}
            confirming={confirm === g.table.id}
            onAskDelete={() => setConfirm(g.table.id)}
            onDelete={() => void remove(g.table.id)}
            onKeep={() => setConfirm(null)}
          />
        ))}
      </ul>
    </div>
  );
}
