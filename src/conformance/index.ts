export { runConformance, formatResult, type CaseResult, type ConformanceOptions, type ConformanceReport } from './runner.js';
export { readGoldenSet, CaseData, compareOutputs, type GoldenCase, type GoldenSet } from './golden.js';
