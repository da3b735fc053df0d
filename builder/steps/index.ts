// The filesystem step handlers the solver dispatches to.
import { UserError } from '../../oci/errors.js';
import type { FilesystemSteps } from '../solve/solver.js';
import { copyStep } from './copy-step.js';
import { workdirStep } from './workdir.js';

export function defaultSteps(): FilesystemSteps {
  return {
    COPY: copyStep,
    ADD: copyStep,
    WORKDIR: workdirStep,
    RUN: async (ins) => {
      throw new UserError('RUN is not supported yet', { location: ins.pos });
    },
  };
}
