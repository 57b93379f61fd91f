//! The XLSX side of a batch upload, read defensively: the checks made before calamine opens the
//! file (expanded size, part count, shared-string indexes calamine would panic on), and a
//! cell-by-cell reader that bounds memory by what the file really holds.

use std::io::Cursor;

use super::error::BatchError;
use super::template::COLUMNS;

/// Most bytes an uploaded XLSX file may expand to, all its parts together.
pub const MAX_XLSX_EXPANDED_BYTES: u64 = 64 * 1024 * 1024;
/// Most parts (zip entries) in an uploaded XLSX file.
pub const MAX_XLSX_PARTS: usize = 1000;

/// The checks made on an uploaded XLSX file before calamine reads it, in one pass over its
/// parts (each decompressed once, into memory bounded by what is left of `max_expanded`):
///
/// - a file that expands beyond `max_expanded` bytes is refused. The sizes the archive declares
///   are not trusted: the bytes are counted as they come out;
/// - a shared-string cell whose index is past the end of the shared-string table is refused
///   with the cell named. calamine 0.26 indexes the table with the cell's value unchecked and
///   panics on such a file (found by the `batch` fuzz target; the input is kept as
///   `fuzz/regressions/batch/xlsx_shared_string_index_out_of_range.xlsx`). Every XML part is
///   scanned, not only the sheets the workbook names, since a crafted workbook can point a
///   sheet anywhere.
pub fn check_xlsx(bytes: &[u8], max_expanded: u64) -> Result<(), BatchError> {
    let unreadable = |e: &dyn std::fmt::Display| BatchError::Unreadable(format!("XLSX: {e}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    if archive.len() > MAX_XLSX_PARTS {
        return Err(BatchError::TooLarge(format!(
            "the XLSX file has {} parts; at most {MAX_XLSX_PARTS}",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    let mut part = Vec::new();
    // Reads one part into `part`, counting it against the limit.
    let mut read_part = |entry: zip::read::ZipFile<'_>, part: &mut Vec<u8>| {
        let room = max_expanded - total;
        part.clear();
        let expanded = std::io::Read::read_to_end(&mut std::io::Read::take(entry, room + 1), part)
            .map_err(|e| unreadable(&e))? as u64;
        if expanded > room {
            return Err(BatchError::TooLarge(format!(
                "the XLSX file expands to more than {max_expanded} bytes; split it"
            )));
        }
        total += expanded;
        Ok(())
    };
    // The shared-string table first, so that each sheet is judged as it is read.
    const SHARED_STRINGS: &str = "xl/sharedStrings.xml";
    let strings = match archive.by_name(SHARED_STRINGS) {
        Ok(entry) => {
            read_part(entry, &mut part)?;
            count_shared_strings(&part[..]).map_err(|e| unreadable(&e))?
        }
        Err(zip::result::ZipError::FileNotFound) => 0,
        Err(e) => return Err(unreadable(&e)),
    };
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| unreadable(&e))?;
        let name = entry.name().to_owned();
        if name == SHARED_STRINGS {
            continue;
        }
        read_part(entry, &mut part)?;
        if name.ends_with(".xml")
            && let Some((cell, index)) =
                first_shared_string_past(&part[..], strings).map_err(|e| unreadable(&e))?
        {
            return Err(BatchError::Unreadable(format!(
                "XLSX: cell {cell} in {name} refers to shared string {index}, but the file has \
                 {strings}"
            )));
        }
    }
    Ok(())
}

/// The number of `si` entries in a shared-string table part.
fn count_shared_strings(part: impl std::io::BufRead) -> Result<usize, quick_xml::Error> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(part);
    let mut buf = Vec::new();
    let mut count = 0;
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"si" => count += 1,
            Event::Eof => return Ok(count),
            _ => {}
        }
        buf.clear();
    }
}

/// The first cell of type `s` whose value is an index `>= strings`: its reference (or `?`)
/// and the index.
fn first_shared_string_past(
    part: impl std::io::BufRead,
    strings: usize,
) -> Result<Option<(String, usize)>, quick_xml::Error> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(part);
    let mut buf = Vec::new();
    // The reference of the shared-string cell being read, and whether its `v` is open.
    let mut cell: Option<String> = None;
    let mut in_value = false;
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().as_ref() == b"c" => {
                let mut shared = false;
                let mut reference = String::from("?");
                for attribute in e.attributes().flatten() {
                    match attribute.key.local_name().as_ref() {
                        b"t" => shared = attribute.value.as_ref() == b"s",
                        b"r" => reference = String::from_utf8_lossy(&attribute.value).into_owned(),
                        _ => {}
                    }
                }
                cell = shared.then_some(reference);
            }
            Event::Start(e) if e.local_name().as_ref() == b"v" => in_value = cell.is_some(),
            Event::Text(text) if in_value => {
                let index = std::str::from_utf8(&text)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if let (Some(index), Some(reference)) = (index, &cell)
                    && index >= strings
                {
                    return Ok(Some((reference.clone(), index)));
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"v" => in_value = false,
            Event::End(e) if e.local_name().as_ref() == b"c" => cell = None,
            Event::Eof => return Ok(None),
            _ => {}
        }
        buf.clear();
    }
}

/// Most columns a batch sheet may use: the template's columns and a few spare. A non-empty cell
/// further right is refused before any sheet is built in memory.
#[allow(clippy::cast_possible_truncation)] // 22 columns fit any integer type
pub const MAX_XLSX_COLUMNS: u32 = COLUMNS.len() as u32 + 8;

/// Reads the first sheet of an XLSX batch cell by cell. calamine's `worksheet_range` sets aside
/// memory for the sheet's whole declared area at once, so one cell at XFD1048576 in a 7 KB file
/// asks for 512 GiB; reading cells one at a time and refusing any non-empty cell outside
/// `MAX_XLSX_COLUMNS` columns or `max_rows` + 1 rows bounds memory by what the file really holds.
pub(super) fn read_xlsx_rows(
    bytes: &[u8],
    max_rows: usize,
) -> Result<Vec<Vec<String>>, BatchError> {
    use calamine::Reader as _;
    let unreadable = |e: calamine::XlsxError| BatchError::Unreadable(e.to_string());
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or(BatchError::Empty)?;
    let mut reader = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    let max_row = u32::try_from(max_rows)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let mut cells: Vec<((u32, u32), String)> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let text = calamine::Data::from(cell.get_value().clone()).to_string();
        if text.trim().is_empty() {
            continue;
        }
        let (row, column) = cell.get_position();
        if column >= MAX_XLSX_COLUMNS {
            return Err(BatchError::Unreadable(format!(
                "XLSX: a value in column {} of row {}; the batch template has {} columns",
                column + 1,
                row + 1,
                COLUMNS.len()
            )));
        }
        if row > max_row || cells.len() > (max_rows + 1) * MAX_XLSX_COLUMNS as usize {
            return Err(BatchError::TooManyRows { limit: max_rows });
        }
        cells.push(((row, column), text));
    }
    // Like a calamine range, the sheet starts at its first used row and column.
    let first_row = cells.iter().map(|((row, _), _)| *row).min().unwrap_or(0);
    let first_column = cells.iter().map(|((_, col), _)| *col).min().unwrap_or(0);
    let last_row = cells.iter().map(|((row, _), _)| *row).max().unwrap_or(0);
    let width = cells
        .iter()
        .map(|((_, col), _)| col - first_column + 1)
        .max()
        .unwrap_or(0);
    let height = if cells.is_empty() {
        0
    } else {
        last_row - first_row + 1
    };
    let mut rows = vec![vec![String::new(); width as usize]; height as usize];
    for ((row, column), text) in cells {
        rows[(row - first_row) as usize][(column - first_column) as usize] = text;
    }
    Ok(rows)
}
