package console_test

import (
	"bytes"
	"cmp"
	"image"
	"image/color"
	"image/png"
	"maps"
	"slices"
	"testing"
)

// compactPNG re-encodes a screenshot with a palette of its 256 most used
// colours, each other colour drawn as the nearest of them: a console screen
// is mostly flat colour, and the anti-aliased edges that fall back to a
// neighbour do not show, while the file shrinks to a fraction. A picture
// that cannot be decoded is returned as it is.
func compactPNG(raw []byte) []byte {
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return raw
	}
	b := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	byUse := slices.SortedFunc(maps.Keys(counts), func(a, b color.RGBA) int {
		return cmp.Or(counts[b]-counts[a], cmp.Compare(pack(a), pack(b)))
	})
	pal := color.Palette{}
	for _, c := range byUse[:min(256, len(byUse))] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	index := map[color.RGBA]uint8{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := index[c]
			if !ok {
				i = uint8(pal.Index(c))
				index[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, out); err != nil || buf.Len() >= len(raw) {
		return raw
	}
	return buf.Bytes()
}

// pack orders colours of equal use, so the palette does not depend on the
// map's order.
func pack(c color.RGBA) uint32 {
	return uint32(c.R)<<24 | uint32(c.G)<<16 | uint32(c.B)<<8 | uint32(c.A)
}

// TestCompactPNG: the colours a picture mostly uses come back exactly, a
// rare one as its nearest, and the file is smaller.
func TestCompactPNG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	bg, ink := color.RGBA{255, 255, 255, 255}, color.RGBA{13, 35, 64, 255}
	for y := range 300 {
		for x := range 400 {
			c := bg
			if (x/7+y/5)%3 == 0 {
				c = ink
			}
			// Edges in shades, as anti-aliased text has them.
			if (x*y)%17 == 0 {
				c = color.RGBA{uint8(200 - x%50), uint8(200 - x%50), uint8(210 - x%50), 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	// 400 colours used once each: past the palette's 256.
	for i := range 400 {
		img.SetRGBA(i, 0, color.RGBA{uint8(i), uint8(i / 2), 250, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	out := compactPNG(buf.Bytes())
	got, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.(*image.Paletted); !ok || len(out) >= buf.Len() {
		t.Fatalf("compacted: %T, %d bytes from %d", got, len(out), buf.Len())
	}
	for _, p := range []image.Point{{3, 10}, {100, 200}, {399, 299}, {17, 1}, {34, 5}} {
		if w, g := img.At(p.X, p.Y), color.RGBAModel.Convert(got.At(p.X, p.Y)); w != g {
			t.Errorf("pixel %v: %v, want %v", p, g, w)
		}
	}
	if string(compactPNG([]byte("not a png"))) != "not a png" {
		t.Error("a picture that cannot be decoded is not returned as it was")
	}
}
