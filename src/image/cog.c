/* cog.c - see cog.h */
#include "config.h"

#include "cog.h"
#include "error.h"

#ifndef HAVE_GDAL

int cog_available(void)
{
	return 0;
}

int cog_write(int dirfd, const char *name, const struct grid *g, const double *values, const double *variance,
	      struct error *e)
{
	(void)dirfd;
	(void)g;
	(void)values;
	(void)variance;
	return error_set(e, KD_EINPUT, "%s: the cog output needs GDAL, and this krigd is built without GDAL", name);
}

#else

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>

#include "outputs.h"
#include "raster.h"

#define COG_NODATA (-9999.0)

/* GDAL is opened on the first cog, not linked: its 115 libraries cost
 * every krigd process (each `krigd submit`, the listener) about 80 ms of
 * dynamic loading, for an output few jobs ask for.  The headers still
 * type every pointer, so a changed prototype fails the build. */
#define GDAL_FUNCS(X) \
	X(GDALAllRegister) X(GDALGetDriverByName) X(GDALCreate) X(GDALCreateCopy) X(GDALClose) \
	X(GDALGetRasterBand) X(GDALRasterIO) X(GDALSetRasterNoDataValue) X(GDALSetGeoTransform) \
	X(GDALSetProjection) X(CPLPushErrorHandler) X(CPLPopErrorHandler) X(CPLQuietErrorHandler) \
	X(CPLErrorReset) X(CPLGetLastErrorMsg) X(CPLGetLastErrorType) X(CSLSetNameValue) X(CSLDestroy) \
	X(VSIGetMemFileBuffer) X(VSIUnlink)

static struct {
#define GDAL_FIELD(f) __typeof__(&f) f;
	GDAL_FUNCS(GDAL_FIELD)
#undef GDAL_FIELD
} gdal;
static pthread_once_t gdal_once = PTHREAD_ONCE_INIT;
static char gdal_why[256]; /* empty once GDAL is loaded and has its drivers */

static void gdal_load(void)
{
	void *h = dlopen(GDAL_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *p;

	if (!h) {
		snprintf(gdal_why, sizeof(gdal_why), "cannot load GDAL (%s)", dlerror());
		return;
	}
#define GDAL_SYM(f)                                                                          \
	if (!(p = dlsym(h, #f))) {                                                           \
		snprintf(gdal_why, sizeof(gdal_why), "%s has no %s", GDAL_SONAME, #f);        \
		return;                                                                      \
	}                                                                                    \
	memcpy(&gdal.f, &p, sizeof(p)); /* ISO C has no cast from void * to a function */
	GDAL_FUNCS(GDAL_SYM)
#undef GDAL_SYM
	gdal.GDALAllRegister();
	if (!gdal.GDALGetDriverByName("COG") || !gdal.GDALGetDriverByName("MEM"))
		snprintf(gdal_why, sizeof(gdal_why), "GDAL has no COG driver here (GDAL 3.1 or later)");
	/* h stays open: GDAL's drivers live until the process ends. */
}

int cog_available(void)
{
	return 1;
}

/* GDAL's last message, or what failed. */
static int gdal_failed(struct error *e, const char *what)
{
	const char *m = gdal.CPLGetLastErrorMsg();
	return error_set(e, KD_EIO, "%s: %s", what, m && *m ? m : "GDAL gave no reason");
}

/* One band of g's shape from doubles: float32, NaN as NoData. */
static int fill_band(GDALDatasetH ds, int b, const struct grid *g, const double *v, float *row, struct error *e)
{
	GDALRasterBandH band = gdal.GDALGetRasterBand(ds, b);

	gdal.GDALSetRasterNoDataValue(band, COG_NODATA);
	for (int r = 0; r < g->height; r++) {
		for (int c = 0; c < g->width; c++) {
			double x = v[(size_t)r * g->width + c];
			row[c] = isnan(x) ? (float)COG_NODATA : (float)x;
		}
		if (gdal.GDALRasterIO(band, GF_Write, 0, r, g->width, 1, row, g->width, 1, GDT_Float32, 0, 0) !=
		    CE_None)
			return gdal_failed(e, "filling the GeoTIFF's band");
	}
	return 0;
}

/* The in-memory dataset the COG driver copies from. */
static int mem_dataset(GDALDatasetH *ds, const struct grid *g, const double *values, const double *variance,
		       struct error *e)
{
	double gt[6] = { g->west, g->dx, 0, g->south + g->height * g->dy, 0, -g->dy };
	float *row = malloc((size_t)g->width * sizeof(float));
	int rc = 0;

	*ds = NULL;
	if (!row)
		return error_set(e, KD_ENOMEM, "out of memory for a GeoTIFF row");
	*ds = gdal.GDALCreate(gdal.GDALGetDriverByName("MEM"), "", g->width, g->height, variance ? 2 : 1,
			      GDT_Float32, NULL);
	if (!*ds)
		rc = gdal_failed(e, "creating the GeoTIFF in memory");
	else if (gdal.GDALSetGeoTransform(*ds, gt) != CE_None ||
		 gdal.GDALSetProjection(*ds, RASTER_WGS84_WKT) != CE_None)
		rc = gdal_failed(e, "georeferencing the GeoTIFF");
	else if ((rc = fill_band(*ds, 1, g, values, row, e)) == 0 && variance)
		rc = fill_band(*ds, 2, g, variance, row, e);
	free(row);
	return rc;
}

int cog_write(int dirfd, const char *name, const struct grid *g, const double *values, const double *variance,
	      struct error *e)
{
	static atomic_ulong serial;
	char mem[128];
	char **opt = NULL;
	GDALDatasetH src = NULL, cog = NULL;
	GByte *buf;
	vsi_l_offset len = 0;
	int rc;

	pthread_once(&gdal_once, gdal_load);
	if (gdal_why[0])
		return error_set(e, KD_EIO, "%s: %s", name, gdal_why);
	snprintf(mem, sizeof(mem), "/vsimem/krigd-%ld-%lu.tif", (long)getpid(), (unsigned long)atomic_fetch_add(&serial, 1));
	gdal.CPLPushErrorHandler(gdal.CPLQuietErrorHandler);
	gdal.CPLErrorReset();
	if ((rc = mem_dataset(&src, g, values, variance, e)) == 0) {
		opt = gdal.CSLSetNameValue(opt, "BLOCKSIZE", "512");
		opt = gdal.CSLSetNameValue(opt, "COMPRESS", "DEFLATE");
		opt = gdal.CSLSetNameValue(opt, "PREDICTOR", "YES");
		opt = gdal.CSLSetNameValue(opt, "RESAMPLING", "AVERAGE");
		opt = gdal.CSLSetNameValue(opt, "OVERVIEWS", "AUTO");
		opt = gdal.CSLSetNameValue(opt, "NUM_THREADS", "1");
		cog = gdal.GDALCreateCopy(gdal.GDALGetDriverByName("COG"), mem, src, FALSE, opt, NULL, NULL);
		if (cog)
			gdal.GDALClose(cog); /* void before GDAL 3.8: its errors are the last error */
		if (!cog || gdal.CPLGetLastErrorType() >= CE_Failure)
			rc = gdal_failed(e, "writing the Cloud-Optimized GeoTIFF");
	}
	gdal.CSLDestroy(opt);
	if (src)
		gdal.GDALClose(src);
	gdal.CPLPopErrorHandler();
	if (rc == 0) {
		if (!(buf = gdal.VSIGetMemFileBuffer(mem, &len, FALSE)) || len == 0)
			rc = error_set(e, KD_EIO, "the GeoTIFF is missing from GDAL's memory");
		else
			rc = outputs_write_bytes(dirfd, name, buf, (size_t)len, e);
	}
	gdal.VSIUnlink(mem);
	return rc;
}

#endif
