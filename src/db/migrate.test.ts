import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitStatements } from './migrate.js';

describe('splitStatements', () => {
  it('splits at a semicolon ending a line and drops whole-line comments', () => {
    expect(
      splitStatements(`-- a table
create table a (x int);
insert into a values (1);
-- done
create index a_x on a (x);`),
    ).toEqual(['create table a (x int)', 'insert into a values (1)', 'create index a_x on a (x)']);
  });

  it('keeps a function body whole, its own statements and comments included', () => {
    const body = `create function f() returns int language plpgsql as $$
begin
  -- inside the body
  perform 1;
  return 2;
end
$$;`;
    expect(splitStatements(`${body}\nselect f();`)).toEqual([body.slice(0, -1), 'select f()']);
  });

  it('splits every shipped migration into statements that each end where a statement ends', () => {
    const dir = new URL('../../migrations/', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
      for (const statement of splitStatements(readFileSync(new URL(file, dir), 'utf8'))) {
        expect(statement.split('$$').length % 2, `${file}: ${statement.slice(0, 60)}`).toBe(1);
      }
    }
  });
});
