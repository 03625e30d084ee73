// The dashboard served by PD's HTTP API: static page and the JSON it needs beyond PD's API.
export { registerDashboard, type DashboardOptions, type DashboardCore } from './dashboard';
export { summarizeHistogram, type HistogramSummary } from './prom-text';
