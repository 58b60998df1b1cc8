import type Router from '@koa/router';
import { levelName } from '../accounts/levels.js';
import type { ConsoleDeps } from './console-context.js';
import { render } from './console-kit.js';
import { recentRoleChanges } from './role-changes.js';

const DAYS = 30;

/** The last `DAYS` dates in Beijing time, oldest first. */
function lastDays(now = Date.now()): string[] {
  return Array.from({ length: DAYS }, (_, i) =>
    new Date(now + 8 * 3_600_000 - (DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}

interface LoginRow {
  day: string;
  method: string | null;
  outcome: string;
  level: string | null;
  count: number;
}

/** One chart: its series over the days, drawn by ECharts and repeated as a table beside it. */
interface Chart {
  id: string;
  title: string;
  kind: 'bar' | 'line' | 'pie';
  stacked?: boolean;
  categories: string[];
  series: { name: string; data: number[] }[];
}

/** 统计概览 (审计管理员): sign-ins, registrations, real-name share, failures and lockouts, 30 days. */
export function statsRoutes(router: Router, deps: ConsoleDeps) {
  router.get('/stats', async (ctx) => {
    const days = lastDays();
    const [stats, activity, roleChanges] = await Promise.all([
      deps.queries.loginsPerDay(DAYS),
      deps.queries.dailyActivity(DAYS),
      recentRoleChanges(deps),
    ]);
    // The query's rows, as its SQL names them.
    const logins = stats.logins as unknown as LoginRow[];
    const accountsByLevel = stats.accountsByLevel as unknown as { level: string; count: number }[];
    const perDay = (rows: { day: string; count: number }[]) =>
      days.map((d) => rows.filter((r) => r.day === d).reduce((n, r) => n + r.count, 0));
    const successes = logins
      .filter((l) => l.outcome === 'success')
      .map((l) => ({ ...l, method: l.method ?? '' }));
    const methods = [...new Set(successes.map((l) => l.method))].sort();
    const levels = ['L1', 'L2', 'L3'];
    const failures = logins.filter((l) => l.outcome === 'failure');
    const total = accountsByLevel.reduce((n, l) => n + l.count, 0);
    const realName = accountsByLevel.filter((l) => l.level !== 'L1').reduce((n, l) => n + l.count, 0);

    const charts: Chart[] = [
      {
        id: 'sign-ins-by-method',
        title: '每日登录（按方式）',
        kind: 'bar',
        stacked: true,
        categories: days,
        series: methods.map((m) => ({
          name: m ? deps.methodWords.name(m) : '其他',
          data: perDay(successes.filter((l) => l.method === m)),
        })),
      },
      {
        id: 'sign-ins-by-level',
        title: '每日登录（按认证等级）',
        kind: 'line',
        categories: days,
        series: levels.map((lv) => ({
          name: levelName(lv),
          data: perDay(successes.filter((l) => l.level === lv)),
        })),
      },
      {
        id: 'registrations',
        title: '每日注册',
        kind: 'bar',
        categories: days,
        series: [{ name: '注册账号', data: perDay(activity.registrations) }],
      },
      {
        id: 'real-name-share',
        title: '实名账号占比（L2及以上）',
        kind: 'pie',
        categories: ['实名（L2、L3）', '未实名（L1）'],
        series: [{ name: '账号数', data: [realName, total - realName] }],
      },
      {
        id: 'failures-and-lockouts',
        title: '每日登录失败与锁定',
        kind: 'line',
        categories: days,
        series: [
          { name: '登录失败', data: perDay(failures) },
          { name: '锁定', data: perDay(activity.lockouts) },
        ],
      },
    ];
    const today = days.at(-1)!;
    render(ctx, deps, 'stats', {
      title: '统计概览',
      charts: true,
      chartList: charts,
      roleChanges,
      today: {
        day: today,
        signIns: successes.filter((l) => l.day === today).reduce((n, l) => n + l.count, 0),
        failures: failures.filter((l) => l.day === today).reduce((n, l) => n + l.count, 0),
        accounts: total,
        realNamePercent: total ? Math.round((realName / total) * 1000) / 10 : 0,
      },
    });
  });
}
