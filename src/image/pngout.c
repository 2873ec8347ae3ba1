/* pngout.c - see pngout.h.  (Not png.h: with -I src, <png.h> would find
 * our header instead of libpng's.) */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "error.h"
#include "pngout.h"

/* libpng's error callback fills the caller's struct error (not a local of
 * pngout_write, whose value would be indeterminate after the longjmp), with
 * errno still that of the failed write, then jumps back. */
static void on_error(png_structp png, png_const_charp msg)
{
	int err = errno;

	error_set(png_get_error_ptr(png), KD_EIO, "writing PNG: %s%s%s", msg, err ? ": " : "",
		  err ? strerror(err) : "");
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg; /* warnings are not errors; library code does not print */
}

int pngout_write(FILE *fp, const unsigned char *rgba, int w, int h, struct error *e)
{
	/* Read again after a longjmp, so they must not live in registers that
	 * setjmp did not save (C11 7.13.2.1). */
	png_structp volatile png = NULL;
	png_infop volatile info = NULL;
	int r;

	if (w < 1 || h < 1 || w > PNGOUT_MAX_SIDE || h > PNGOUT_MAX_SIDE)
		return error_set(e, KD_EINPUT, "cannot write a %d x %d PNG", w, h);
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e, on_error, on_warning);
	if (!png)
		return error_set(e, KD_ENOMEM, "out of memory for a PNG writer");
	info = png_create_info_struct(png);
	if (!info) {
		png_structp p = png;

		png_destroy_write_struct(&p, NULL);
		return error_set(e, KD_ENOMEM, "out of memory for a PNG writer");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_structp p = png;
		png_infop i = info;

		png_destroy_write_struct(&p, &i);
		return KD_EIO;
	}
	errno = 0; /* so on_error reports only an errno set while writing */
	png_init_io(png, fp);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(png, 3);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB | PNG_FILTER_UP);
	png_write_info(png, info);
	for (r = 0; r < h; r++)
		png_write_row(png, rgba + (size_t)r * (size_t)w * 4);
	png_write_end(png, NULL);
	{
		png_structp p = png;
		png_infop i = info;

		png_destroy_write_struct(&p, &i);
	}
	if (ferror(fp))
		return error_set(e, KD_EIO, "writing PNG: %s", strerror(errno ? errno : EIO));
	return 0;
}

int pngout_read(const char *path, unsigned char **rgba, int *w, int *h, struct error *e)
{
	png_image img;
	unsigned char *buf;
	size_t size;

	*rgba = NULL;
	*w = *h = 0;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	/* The simplified API does its own setjmp; errors come back in img. */
	if (!png_image_begin_read_from_file(&img, path))
		return error_set(e, KD_EINPUT, "%s: %s", path, img.message);
	if (img.width < 1 || img.height < 1 || img.width > PNGOUT_MAX_SIDE || img.height > PNGOUT_MAX_SIDE) {
		png_image_free(&img);
		return error_set(e, KD_ELIMIT, "%s: a %u x %u PNG is out of range", path, img.width, img.height);
	}
	img.format = PNG_FORMAT_RGBA;
	size = PNG_IMAGE_SIZE(img);
	buf = malloc(size);
	if (!buf) {
		png_image_free(&img);
		return error_set(e, KD_ENOMEM, "%s: out of memory for %zu bytes", path, size);
	}
	if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
		free(buf);
		png_image_free(&img);
		return error_set(e, KD_EINPUT, "%s: %s", path, img.message);
	}
	*rgba = buf;
	*w = (int)img.width;
	*h = (int)img.height;
	return 0;
}
