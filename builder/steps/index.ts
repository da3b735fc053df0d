// The filesystem step handlers the solver dispatches to.
import type { FilesystemSteps } from '../solve/solver.js';
import { copyStep } from './copy-step.js';
import { runStep } from './run.js';
import { workdirStep } from './workdir.js';

export function defaultSteps(): FilesystemSteps {
  return {
    COPY: copyStep,
    ADD: copyStep,
    WORKDIR: workdirStep,
    RUN: runStep,
  };
}
