// Files imported `with { type: "file" }` resolve to a path (inside a compiled executable, a path
// in its embedded file system that dlopen and fs accept).

declare module "*.so" {
  const path: string;
  export default path;
}
