import type { Child } from 'hono/jsx'

/** One column of a DataTable: its header and how a row fills its cell. */
export interface Column<Row> {
  /** The column header; when no column has one the table has no thead (a list of labelled rows). */
  head?: Child
  /** A number: right-aligned (class "num") in the header and in every cell. */
  num?: boolean
  /** The row's label: a <th scope="row">, so a screen reader names the row with each cell. */
  rowHeader?: boolean
  cell: (row: Row) => Child
}

/** A text header also labels its cells when the rows stack on a narrow screen (gateway.css). */
function labelOf<Row>(column: Column<Row>): string | undefined {
  return typeof column.head === 'string' ? column.head : undefined
}

/**
 * The pages' one table: scrollable on a narrow screen (table-wrap), a header
 * row of scope="col" cells, one row per item with the row's data-* attributes
 * (the tests and the script find rows by them), an optional caption and footer
 * rows (totals) filled by the same columns.
 */
export function DataTable<Row>(props: {
  columns: Array<Column<Row>>
  rows: Row[]
  /** Shown (muted) instead of the table when there are no rows; without it the empty table shows. */
  empty?: string
  caption?: Child
  foot?: Row[]
  /** data-* attributes of a row's <tr>. */
  rowData?: (row: Row) => Record<`data-${string}`, string>
}) {
  const { columns } = props
  if (props.empty !== undefined && props.rows.length === 0) {
    return <p class="muted">{props.empty}</p>
  }
  const numClass = (column: Column<Row>) => (column.num ? 'num' : undefined)
  const row = (item: Row) => (
    <tr {...props.rowData?.(item)}>
      {columns.map((column) =>
        column.rowHeader ? (
          <th scope="row">{column.cell(item)}</th>
        ) : (
          <td class={numClass(column)} data-label={labelOf(column)}>
            {column.cell(item)}
          </td>
        ),
      )}
    </tr>
  )
  return (
    <div class="table-wrap">
      <table class="stack">
        {props.caption !== undefined && <caption>{props.caption}</caption>}
        {columns.some((column) => column.head !== undefined) && (
          <thead>
            <tr>
              {columns.map((column) => (
                <th scope="col" class={numClass(column)}>
                  {column.head}
                </th>
              ))}
            </tr>
          </thead>
        )}
        <tbody>{props.rows.map(row)}</tbody>
        {props.foot && <tfoot>{props.foot.map(row)}</tfoot>}
      </table>
    </div>
  )
}
