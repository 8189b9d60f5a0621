import * as Comlink from 'comlink';
import { RunArchiveReader } from './run-archive-reader';
Comlink.expose(new RunArchiveReader());
