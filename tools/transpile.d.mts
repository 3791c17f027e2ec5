/** Types of tools/transpile.mjs, for the tests that import it. */
export function workspaceProjects(root: string): Map<string, string>;
export function projectsFor(root: string, name: string): string[];
export function transpileProject(dir: string): { src: string; out: string; text: string }[];
