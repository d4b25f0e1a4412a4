/* The migration registry: every schema change banger has ever made, in order.
 *
 * Rules for adding one: never edit or renumber a migration that has shipped;
 * append with the next id; keep each one a single transaction's worth of
 * SQL. A build with BANGER_MAX_MIGRATION=N knows only ids <= N, which is how
 * the tests and the demo make an "older release" from this tree.
 */
#include "banger/store.h"
#include "banger_config.h"

static const struct migration registry[] = {
	{
		.id = 1,
		.name = "baseline",
		.sql =
		"CREATE TABLE images ("
		"  id INTEGER PRIMARY KEY,"
		"  name TEXT NOT NULL UNIQUE,"
		"  digest TEXT NOT NULL,"
		"  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
		"  arch TEXT NOT NULL DEFAULT 'x86_64',"
		"  created_at TEXT NOT NULL"
		");"
		"CREATE TABLE vms ("
		"  id INTEGER PRIMARY KEY,"
		"  name TEXT NOT NULL UNIQUE,"
		"  image_id INTEGER NOT NULL REFERENCES images(id),"
		"  vcpus INTEGER NOT NULL CHECK (vcpus > 0),"
		"  memory_mib INTEGER NOT NULL CHECK (memory_mib > 0),"
		"  state TEXT NOT NULL DEFAULT 'stopped' CHECK (state IN ('stopped', 'running')),"
		"  created_at TEXT NOT NULL"
		");"
		"CREATE INDEX vms_image_id ON vms(image_id);",
	},
	{
		.id = 2,
		.name = "vm_workspaces",
		.sql =
		"CREATE TABLE workspaces ("
		"  id INTEGER PRIMARY KEY,"
		"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
		"  path TEXT NOT NULL,"
		"  dirty INTEGER NOT NULL DEFAULT 0 CHECK (dirty IN (0, 1)),"
		"  UNIQUE (vm_id, path)"
		");",
	},
	{
		/* Every image banger runs is x86_64 and the column was never read:
		 * drop it. Done as SQLite's 12-step table rebuild rather than
		 * ALTER TABLE DROP COLUMN so that the migration does not depend on
		 * SQLite >= 3.35 and keeps the constraints exactly as written. */
		.id = 3,
		.name = "drop_image_arch",
		.rebuilds_tables = true,
		.sql =
		"CREATE TABLE images_new ("
		"  id INTEGER PRIMARY KEY,"
		"  name TEXT NOT NULL UNIQUE,"
		"  digest TEXT NOT NULL,"
		"  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
		"  created_at TEXT NOT NULL"
		");"
		"INSERT INTO images_new (id, name, digest, size_bytes, created_at)"
		"  SELECT id, name, digest, size_bytes, created_at FROM images;"
		"DROP TABLE images;"
		"ALTER TABLE images_new RENAME TO images;",
	},
#if BANGER_TEST_BAD_MIGRATION
	{
		/* Tests only (make BANGER_TEST_BAD_MIGRATION=1): a release whose
		 * next migration succeeds on an empty database and fails on one
		 * where two images share a digest, as a unique index over
		 * duplicate rows does in real life. What the rehearsal is for. */
		.id = 4,
		.name = "unique_image_digest",
		.sql = "CREATE UNIQUE INDEX images_digest ON images(digest);",
	},
#endif
};

struct migration_set store_known_migrations(void)
{
	size_t n = 0;
	while (n < sizeof(registry) / sizeof(registry[0]) &&
	       registry[n].id <= (int64_t)BANGER_MAX_MIGRATION)
		n++;
	return (struct migration_set){ .items = registry, .count = n };
}
