import type { BackendReport } from '../platform/backend';
import type { IndexBuilderHandle } from '../workers/index-builder-client';

const mib = (bytes: number) => `${Math.round(bytes / (1 << 20))} MiB`;
const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

/** Header badge: the active backend, the adapter, its key limits, and where the index builder runs. */
export function BackendBadge({ report, builder }: { report: BackendReport; builder: IndexBuilderHandle }) {
  const a = report.adapter;
  const adapterName = a
    ? [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unnamed adapter'
    : 'no WebGPU adapter';
  const title = a
    ? `maxStorageBufferBindingSize ${a.limits.maxStorageBufferBindingSize} B\n` +
      `maxComputeWorkgroupStorageSize ${a.limits.maxComputeWorkgroupStorageSize} B\n` +
      `maxBufferSize ${a.limits.maxBufferSize} B\nfeatures: ${a.features.join(', ')}`
    : 'WebGPU is not available in this browser';
  return (
    <div className="badge" data-testid="backend-badge" title={title}>
      <span className={`badge-backend backend-${report.backend}`} data-testid="backend-name">
        {report.backend}
      </span>
      <span className="badge-adapter">
        {adapterName}
        {a?.software ? ' (software, emulated on the CPU)' : ''}
      </span>
      {a && (
        <span className="badge-limits">
          storage binding {mib(a.limits.maxStorageBufferBindingSize)} · workgroup {kib(a.limits.maxComputeWorkgroupStorageSize)}
        </span>
      )}
      <span className="badge-worker" data-testid="builder-mode">
        index builder: {builder.mode === 'worker' ? `worker (${builder.backend.backend})` : 'main thread'}
      </span>
    </div>
  );
}
