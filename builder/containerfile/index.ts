// Containerfile text → typed instruction list, and the word-expansion lexer. Pure: no files,
// no stages, no images.
export type { Pos, Flag, CommandForm, Heredoc, Instruction, InstructionKind, InstructionOf, ParsedContainerfile, Directives, HealthcheckTimings } from './types.js';
export { INSTRUCTION_KINDS } from './types.js';
export { parseContainerfile } from './parse.js';
export { expandWord, expandWords, lookupFrom, type Lookup } from './lexer.js';
export { parseDuration } from './duration.js';
export { expandHeredocBody } from './heredoc.js';
export { expandsVariables, expandsFlag } from './expansion.js';
export { FLAG_SPECS } from './flags.js';
