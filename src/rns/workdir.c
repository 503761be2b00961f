/* workdir.c - find the local RNS root the way Runhouse does: walk up from
 * the start directory to the first one holding rh, .git, requirements.txt,
 * setup.py or pyproject.toml, stopping at $HOME or /; none found: the start
 * directory itself. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"

static const char *const markers[] = {
	"rh", ".git", "requirements.txt", "setup.py", "pyproject.toml",
};

char *
rh_workdir_find(const char *start, const char *home)
{
	char *dir = xstrdup(start), *slash, *probe;
	size_t i;

	while (strcmp(dir, "/") != 0 && *dir != '\0' &&
	       (home == NULL || strcmp(dir, home) != 0)) {
		for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
			probe = xasprintf("%s/%s", dir, markers[i]);
			if (access(probe, F_OK) == 0) {
				free(probe);
				return dir;
			}
			free(probe);
		}
		/* a relative start ends at its first component */
		if ((slash = strrchr(dir, '/')) == NULL)
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(dir);
	return xstrdup(start);
}
