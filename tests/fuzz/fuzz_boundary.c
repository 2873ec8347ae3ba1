/* fuzz_boundary.c - GeoJSON / ring-list parsing and the grid's scan lines
 * over whatever polygon comes out. */
#include "config.h"

#include "boundary.h"
#include "error.h"
#include "fuzz.h"
#include "raster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boundary b = BOUNDARY_INIT;
	struct grid g;
	struct error e;

	if (boundary_from_text(&b, (const char *)data, size, &e) == 0) {
		if (grid_init(&g, &b, 64, 64 * 4096, &e) == 0) {
			/* Spans stay inside the grid and in order. */
			for (int r = 0; r < g.height; r++)
				for (size_t s = g.row_span[r]; s < g.row_span[r + 1]; s++)
					if (g.span[s].c0 < 0 || g.span[s].c1 > g.width || g.span[s].c0 >= g.span[s].c1)
						__builtin_trap();
			grid_release(&g);
		}
		boundary_release(&b);
	}
	return 0;
}
