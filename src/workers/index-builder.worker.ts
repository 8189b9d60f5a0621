import * as Comlink from 'comlink';
import { IndexBuilder } from './index-builder';
Comlink.expose(new IndexBuilder());
