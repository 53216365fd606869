import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The openai Python SDK for the compatibility tests: a virtualenv built from
 * test/compat/python/requirements.txt once, outside the repository, and reused
 * by every later run (both database passes, later `npm test`s, CI's fresh
 * clones on the same machine) until the requirements or the Python change.
 */
export const PYTHON_DIR = join(dirname(fileURLToPath(import.meta.url)), 'python')
const REQUIREMENTS = join(PYTHON_DIR, 'requirements.txt')
/** Written last into a finished virtualenv: a folder without it is a build that died. */
const READY = 'ready'

/** The Python on PATH (`python3`) that can make a virtualenv, or why not. */
export function findPython(): { python: string; identity: string } | { missing: string } {
  const probe = spawnSync(
    'python3',
    ['-c', 'import os, sys, venv, ensurepip; print(os.path.realpath(sys.executable), sys.version)'],
    { encoding: 'utf8' },
  )
  if (probe.error) return { missing: `python3 not found on PATH (${probe.error.message})` }
  if (probe.status !== 0)
    return { missing: `python3 cannot make a virtualenv (venv, ensurepip): ${probe.stderr.trim()}` }
  return { python: 'python3', identity: probe.stdout.trim() }
}

/**
 * The path of the virtualenv's python with the pinned openai installed, built
 * on first use. Two test passes run side by side, so a build goes to a folder
 * of its own and is renamed into place whole: the loser of a race throws its
 * copy away and uses the winner's.
 */
export async function pythonWithOpenai(found: { python: string; identity: string }) {
  const key = createHash('sha256')
    .update(readFileSync(REQUIREMENTS))
    .update(found.identity)
    .digest('hex')
    .slice(0, 16)
  const home = join(tmpdir(), 'gateway-python-sdk')
  const venv = join(home, key)
  const python = join(venv, 'bin', 'python')
  if (existsSync(join(venv, READY))) return python

  mkdirSync(home, { recursive: true })
  const building = join(home, `${key}.${process.pid}.${Date.now()}`)
  try {
    await run(found.python, ['-m', 'venv', building])
    // --retries 0: a machine with only a local package index must not spend minutes
    // retrying the unreachable default one before each package.
    await run(join(building, 'bin', 'python'), [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--retries',
      '0',
      '-r',
      REQUIREMENTS,
    ])
    writeFileSync(join(building, READY), `${found.identity}\n`)
    // Fails when another pass renamed its build into place first (the folder is not empty).
    renameSync(building, venv)
  } catch (error) {
    rmSync(building, { recursive: true, force: true })
    if (!existsSync(join(venv, READY))) throw error
  }
  return python
}

/** Runs a command, its stdin given, and resolves its stdout; rejects with its stderr. */
export function run(command: string, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 180_000 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`))
        else resolve(stdout)
      },
    )
    child.stdin?.end(stdin ?? '')
  })
}
