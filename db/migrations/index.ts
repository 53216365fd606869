import type { Migration } from 'kysely'
import * as m0001 from './0001_init.ts'
import * as m0002 from './0002_reservation_liveness.ts'
import * as m0003 from './0003_key_scopes.ts'
import * as m0004 from './0004_web_sessions.ts'
import * as m0005 from './0005_usage_weights.ts'
import * as m0006 from './0006_usage_rollup.ts'
import * as m0007 from './0007_webhook_body_scrub.ts'
import * as m0008 from './0008_instance_lineage.ts'
import * as m0009 from './0009_stored_objects.ts'
import * as m0010 from './0010_promo_codes.ts'
import * as m0011 from './0011_usage_per_request.ts'
import * as m0012 from './0012_reservation_without_indexes.ts'
import * as m0013 from './0013_outbox.ts'
import * as m0014 from './0014_exchange_rates.ts'
import * as m0015 from './0015_console_audit.ts'
import * as m0016 from './0016_request_outcomes.ts'
import * as m0017 from './0017_rate_windows.ts'
import * as m0018 from './0018_period_counters.ts'
import * as m0019 from './0019_prepaid_packs.ts'
import * as m0020 from './0020_gateway_settings.ts'
import * as m0021 from './0021_promo_packs.ts'

/** Every migration, statically indexed: no directory scanning, the same under tsx, tests and bundles. */
export const migrations: Record<string, Migration> = {
  '0001_init': m0001,
  '0002_reservation_liveness': m0002,
  '0003_key_scopes': m0003,
  '0004_web_sessions': m0004,
  '0005_usage_weights': m0005,
  '0006_usage_rollup': m0006,
  '0007_webhook_body_scrub': m0007,
  '0008_instance_lineage': m0008,
  '0009_stored_objects': m0009,
  '0010_promo_codes': m0010,
  '0011_usage_per_request': m0011,
  '0012_reservation_without_indexes': m0012,
  '0013_outbox': m0013,
  '0014_exchange_rates': m0014,
  '0015_console_audit': m0015,
  '0016_request_outcomes': m0016,
  '0017_rate_windows': m0017,
  '0018_period_counters': m0018,
  '0019_prepaid_packs': m0019,
  '0020_gateway_settings': m0020,
  '0021_promo_packs': m0021,
}
