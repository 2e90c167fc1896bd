"""collectstatic minifies the console's own stylesheets and scripts before hashing and compressing them."""

from pathlib import Path, PurePosixPath

import rcssmin
import rjsmin
from whitenoise.storage import CompressedManifestStaticFilesStorage

MINIFIERS = {".css": rcssmin.cssmin, ".js": rjsmin.jsmin}


def minify(name: str, content: bytes) -> bytes:
    """The file as production serves it: CSS and JavaScript minified, unless already (``*.min.*``)."""
    path = PurePosixPath(name)
    minifier = MINIFIERS.get(path.suffix)
    if minifier is None or ".min." in path.name:
        return content
    return minifier(content)


class MinifiedCompressedManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's hashed and compressed files, made from the minified copies.

    collectstatic has copied every file into STATIC_ROOT when this runs; the minified copy replaces
    the plain one there, and the hashing reads that copy rather than the source, so the hashed name,
    the .gz and the .br all hold the minified file.
    """

    def post_process(self, paths, dry_run=False, **options):
        if not dry_run:
            paths = dict(paths)
            for name in paths:
                if PurePosixPath(name).suffix not in MINIFIERS:
                    continue
                collected = Path(self.path(name))
                content = collected.read_bytes()
                minified = minify(name, content)
                if minified != content:
                    # Unlinked first: with collectstatic --link the copy is a link to the source.
                    collected.unlink()
                    collected.write_bytes(minified)
                # Also when a rerun left the copy (already minified) in place.
                paths[name] = (self, name)
        yield from super().post_process(paths, dry_run=dry_run, **options)
