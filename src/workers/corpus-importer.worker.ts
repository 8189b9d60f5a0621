import * as Comlink from 'comlink';
import { CorpusImporter } from './corpus-importer';
Comlink.expose(new CorpusImporter());
