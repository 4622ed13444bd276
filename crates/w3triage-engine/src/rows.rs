//! A query's result as plain values, the same whatever engine and Arrow types produced it.

use crate::Error;
use datafusion::arrow::array::{Array, Float64Array, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Any integer; a timestamp as milliseconds since 1970 UTC.
    Int(i64),
    /// Any float.
    Float(f64),
    /// Any text (and any other type, as its text).
    Str(String),
}

/// A query's rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// The columns' names.
    pub columns: Vec<String>,
    /// The rows, each as long as `columns`.
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    /// The rows of these batches.
    pub fn of(batches: &[RecordBatch]) -> Result<Rows, Error> {
        let mut out = Rows::default();
        if let Some(b) = batches.first() {
            out.columns = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
        }
        for b in batches {
            let cols = (0..b.num_columns())
                .map(|c| column(b.column(c).as_ref()))
                .collect::<Result<Vec<_>, _>>()?;
            for r in 0..b.num_rows() {
                out.rows.push(cols.iter().map(|c| c[r].clone()).collect());
            }
        }
        Ok(out)
    }

    /// The index of column `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

fn cast_to(a: &dyn Array, to: &DataType) -> Result<std::sync::Arc<dyn Array>, Error> {
    cast(a, to).map_err(|e| Error(format!("cannot read a {} column: {e}", a.data_type())))
}

/// A column's values: integers, floats and text as themselves, timestamps in milliseconds,
/// anything else as its text.
fn column(a: &dyn Array) -> Result<Vec<Value>, Error> {
    let t = a.data_type();
    let ms = DataType::Timestamp(TimeUnit::Millisecond, None);
    let (as_int, as_float) = match t {
        DataType::Timestamp(..) => (Some(cast_to(&*cast_to(a, &ms)?, &DataType::Int64)?), None),
        t if t.is_integer() || *t == DataType::Boolean => {
            (Some(cast_to(a, &DataType::Int64)?), None)
        }
        t if t.is_floating() || matches!(t, DataType::Decimal128(..)) => {
            (None, Some(cast_to(a, &DataType::Float64)?))
        }
        _ => (None, None),
    };
    if let Some(c) = as_int {
        let c = c
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("cast to Int64");
        return Ok((0..c.len())
            .map(|i| {
                if c.is_null(i) {
                    Value::Null
                } else {
                    Value::Int(c.value(i))
                }
            })
            .collect());
    }
    if let Some(c) = as_float {
        let c = c
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("cast to Float64");
        return Ok((0..c.len())
            .map(|i| {
                if c.is_null(i) {
                    Value::Null
                } else {
                    Value::Float(c.value(i))
                }
            })
            .collect());
    }
    let s = cast_to(a, &DataType::Utf8)?;
    let s = s
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8");
    Ok((0..s.len())
        .map(|i| {
            if s.is_null(i) {
                Value::Null
            } else {
                Value::Str(s.value(i).to_string())
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        DictionaryArray, Float32Array, Int32Array, StringViewArray, TimestampSecondArray,
    };
    use datafusion::arrow::datatypes::{Field, Int8Type, Schema};
    use std::sync::Arc;

    #[test]
    fn every_arrow_type_becomes_the_plain_value_it_holds() {
        let schema = Schema::new(vec![
            Field::new("ts", DataType::Timestamp(TimeUnit::Second, None), true),
            Field::new("n", DataType::Int32, true),
            Field::new("x", DataType::Float32, true),
            Field::new("view", DataType::Utf8View, true),
            Field::new(
                "dict",
                DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
                true,
            ),
        ]);
        let dict: DictionaryArray<Int8Type> = vec![Some("ctsgate.dll"), None].into_iter().collect();
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(TimestampSecondArray::from(vec![Some(1_741_600_800), None])),
                Arc::new(Int32Array::from(vec![Some(-3), None])),
                Arc::new(Float32Array::from(vec![Some(0.5), None])),
                Arc::new(StringViewArray::from(vec![Some("WEB01"), None])),
                Arc::new(dict),
            ],
        )
        .unwrap();
        let rows = Rows::of(&[batch.clone(), batch]).unwrap();
        assert_eq!(rows.columns, ["ts", "n", "x", "view", "dict"]);
        assert_eq!(rows.rows.len(), 4);
        assert_eq!(
            rows.rows[0],
            [
                Value::Int(1_741_600_800_000),
                Value::Int(-3),
                Value::Float(0.5),
                Value::Str("WEB01".into()),
                Value::Str("ctsgate.dll".into()),
            ]
        );
        assert!(rows.rows[1].iter().all(|v| *v == Value::Null));
        assert_eq!(rows.index("dict"), Some(4));
    }
}
