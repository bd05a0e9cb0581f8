//! The compute device a training run uses, by name: `flex` (the CPU backend, the default),
//! `cuda[:N]` and `rocm[:N]` in builds with those features. A GPU device is started and checked
//! before training begins, so that a machine without the driver, the device or the run-time
//! compiler gets a [`TrainError::Device`] naming what failed, not a panic deep in a step.

use burn::tensor::Device;

use crate::error::{Result, TrainError};

/// A parsed device name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceName {
    /// burn's `flex` CPU backend (`flex` or `cpu`).
    Flex,
    /// An NVIDIA GPU by index (`cuda` = `cuda:0`).
    Cuda(usize),
    /// An AMD GPU by index (`rocm` = `rocm:0`).
    Rocm(usize),
}

impl DeviceName {
    /// Parses `flex`, `cpu`, `cuda`, `cuda:N`, `rocm`, `rocm:N`.
    pub fn parse(name: &str) -> Result<DeviceName> {
        let (kind, index) = match name.split_once(':') {
            Some((kind, index)) => {
                let index = index.parse::<usize>().map_err(|_| {
                    TrainError::Config(format!("device {name:?}: {index:?} is not a device index"))
                })?;
                (kind, Some(index))
            }
            None => (name, None),
        };
        match (kind, index) {
            ("flex" | "cpu", None) => Ok(DeviceName::Flex),
            ("cuda", i) => Ok(DeviceName::Cuda(i.unwrap_or(0))),
            ("rocm", i) => Ok(DeviceName::Rocm(i.unwrap_or(0))),
            _ => Err(TrainError::Config(format!(
                "device {name:?}: expected flex, cpu, cuda[:N] or rocm[:N]"
            ))),
        }
    }
}

/// The device `name` names, started and checked (see the module docs).
pub fn select_device(name: &str) -> Result<Device> {
    match DeviceName::parse(name)? {
        DeviceName::Flex => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        DeviceName::Cuda(i) => start(name, Device::cuda(i)),
        #[cfg(feature = "rocm")]
        DeviceName::Rocm(i) => start(name, Device::rocm(i)),
        #[allow(unreachable_patterns)]
        _ => Err(TrainError::Config(format!(
            "device {name:?} is not available in this build (use flex, or build routelab with --features cuda or rocm)"
        ))),
    }
}

/// Runs a first operation on a GPU `device`: burn's GPU backends load the driver and the
/// run-time compiler lazily and panic when they are missing; that panic becomes an error here.
#[cfg(any(feature = "cuda", feature = "rocm"))]
fn start(name: &str, device: Device) -> Result<Device> {
    let probe = || {
        burn::tensor::Tensor::<1>::from_floats([1.0f32, 2.0], &device)
            .sum()
            .into_scalar::<f32>()
    };
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(probe));
    std::panic::set_hook(hook);
    match outcome {
        Ok(sum) if sum == 3.0 => Ok(device),
        Ok(sum) => Err(TrainError::Device {
            device: name.into(),
            message: format!("a test sum gave {sum}, not 3"),
        }),
        Err(panic) => Err(TrainError::Device {
            device: name.into(),
            message: panic_text(panic.as_ref()),
        }),
    }
}

/// The message of a caught panic, with what it usually means.
#[cfg(any(feature = "cuda", feature = "rocm"))]
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the backend panicked".into());
    format!(
        "the GPU backend could not start: {text} (it needs the GPU driver (libcuda.so for CUDA, \
         libamdhip64.so for ROCm), a visible device, and the run-time compiler (libnvrtc.so / \
         hiprtc) on the library path)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!(DeviceName::parse("flex").unwrap(), DeviceName::Flex);
        assert_eq!(DeviceName::parse("cpu").unwrap(), DeviceName::Flex);
        assert_eq!(DeviceName::parse("cuda").unwrap(), DeviceName::Cuda(0));
        assert_eq!(DeviceName::parse("cuda:3").unwrap(), DeviceName::Cuda(3));
        assert_eq!(DeviceName::parse("rocm:1").unwrap(), DeviceName::Rocm(1));
        for bad in ["gpu", "cuda:x", "flex:0", "cuda:-1", ""] {
            let err = DeviceName::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_gpu_device_needs_the_feature() {
        let err = select_device("cuda:0").unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
