/**
 * The embedded database's directory is held by another process. Its own module so that the
 * command line can name it in its error message without loading the database drivers.
 */
export class EmbeddedDatabaseBusy extends Error {
  override name = 'EmbeddedDatabaseBusy';
}
