"""Static files with hashed names (production): WhiteNoise's compressed manifest storage, CSS references
rewritten, JavaScript left as shipped.

The vendored minified bundles (static/vendor/) end with a `sourceMappingURL` comment naming a map that is
not shipped; Django's JS pattern would make collectstatic fail on it. The project's own scripts import
nothing by relative URL, so there is nothing in JavaScript to rewrite.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = tuple(entry for entry in CompressedManifestStaticFilesStorage.patterns if entry[0] == "*.css")
