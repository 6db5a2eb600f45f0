// The server side: markup for the page (the test puts it into the client build's index.html).
import { renderToString } from 'react-dom/server';
import { App } from './app.jsx';

export const render = () => renderToString(<App />);
