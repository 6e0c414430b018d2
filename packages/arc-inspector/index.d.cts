/** Absolute path of the built inspector (index.html, app-<hash>.js, app-style-<hash>.css). */
export declare const distDir: string;
/** Why the inspector cannot be served (not built), or null when dist/ holds a build. */
export declare function inspectorProblem(): string | null;
/** The names of the built files in distDir; throws, saying to run `npm run build`, when there is no build. */
export declare function inspectorFiles(): string[];
