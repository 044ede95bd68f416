"""ABC notation in and out: the folk musician's text format for tunes.

- `tunes`: a file as tunes (headers and body lines); `lexer`: a line of music as tokens;
- `body`: a tune's body as bars of notes per voice; `repeats`: the order bars are played in;
- `reader`: tunes to Pieces (`read_abc`, `parse_abc`, and the lenient `read_abc_book`);
- `tables`: what ABC's letters and fields mean, and the bounds on hostile files.
"""

from composer.music.abc.reader import (
    AbcBook,
    parse_abc,
    parse_abc_book,
    read_abc,
    read_abc_book,
)

__all__ = ["AbcBook", "parse_abc", "parse_abc_book", "read_abc", "read_abc_book"]
