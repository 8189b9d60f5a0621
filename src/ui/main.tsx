import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { firstRunSearch } from '../app/first-run';
import './styles.css';

// A new user's first run starts from the warm start: a first visit without a setup gets the Classroom demo's link.
const search = firstRunSearch(window.location.search);
if (search !== window.location.search)
  window.history.replaceState(null, '', `${window.location.pathname}${search}${window.location.hash}`);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
