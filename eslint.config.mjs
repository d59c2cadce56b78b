// ESLint (typescript-eslint's recommended rules) over every TypeScript and JavaScript source of the repository.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.venv/**',
      '.cache/**',
      '.jupyter/**',
      'runs/**',
      'report/**',
      'scratch/**',
      'notebooks/**',
      'jupyterlab-plugin/lib/**',
      'jupyterlab-plugin/lib-test/**',
      'jupyterlab-plugin/reslab_jupyterlab/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A callback that reads a variable assigned just after it is created (a progress hook) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Node scripts in CommonJS.
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The JupyterLab extension runs in the browser.
    files: ['jupyterlab-plugin/src/**/*.ts'],
    languageOptions: { globals: globals.browser },
  },
);
