// What `tandem pair` (npm start) prints about the system it runs, besides where things are: the
// dial plan of the switch, where route points send calls nobody routes, and the loud warning when
// the desktop ports are open beyond this machine with token auth off. Read from the same config
// file the children get; a bad file prints nothing here (the children say what is wrong).
import { loadConfigFile } from '../processes/switch/config.js';
import { DialPlan } from '../processes/switch/dial-plan.js';
import { readConfigFile, routePointsOf } from '../processes/tserver/config.js';
import { desktopExposureWarning } from '../auth/exposure.js';

export function startNotes(configPath: string | undefined, host: string): string[] {
  const out: string[] = [];
  try {
    const sw = loadConfigFile(configPath);
    out.push(`  dial plan:    ${new DialPlan(sw.dialPlan).describe()}`);
    const file = readConfigFile(configPath);
    const routes = Object.entries(routePointsOf(file)).filter(([, r]) => r.defaultTarget)
      .map(([dn, r]) => `${dn} -> ${r.defaultTarget} after ${(r.timeoutMs ?? 0) / 1000} s`);
    out.push(`  no router:    ${routes.length > 0 ? `${routes.join(', ')} (core.routePoints); other route points wait for a router` : 'calls wait at route points for a router (core.routePoints)'}`);
    const auth = file.tserver?.auth?.mode === 'token';
    const warning = desktopExposureWarning(host, auth);
    if (warning) out.push(`  WARNING:      ${warning}`);
  } catch {
    // The children report a bad config file with the setting to fix.
  }
  return out;
}
