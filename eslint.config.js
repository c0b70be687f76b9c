import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The admin dashboard's script runs in the browser.
    files: ['server/admin/dashboard/**/*.js'],
    languageOptions: {
      globals: { document: 'readonly', sessionStorage: 'readonly', fetch: 'readonly', Node: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' },
    },
  },
)
