//! One CUDA device ready to run the engine: context, stream, compiled kernels, cuBLAS handle.
use super::compile::{arch_for, compile_ptx, KERNELS};
use super::libs::{require, Lib};
use crate::error::{EngineError, Result};
use cudarc::cublas::{sys as blas_sys, CudaBlas};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, DevicePtrMut, LaunchConfig,
};
use cudarc::nvrtc::Ptx;
use std::collections::HashMap;
use std::sync::Arc;

/// Any cudarc error as an engine error, with what was being done.
macro_rules! ctx_err {
    ($what:expr) => {
        move |e| $crate::error::EngineError::Cuda(format!("{}: {e:?}", $what))
    };
}
pub(crate) use ctx_err;

pub struct Gpu {
    pub ordinal: usize,
    pub name: String,
    pub compute_capability: (i32, i32),
    /// Streaming multiprocessors (the split-decode policy fills them).
    pub sms: usize,
    pub ctx: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    pub blas: CudaBlas,
    funcs: HashMap<&'static str, CudaFunction>,
}

/// Number of CUDA devices, or the error naming the missing driver.
pub fn device_count() -> Result<usize> {
    require(&[Lib::Driver])?;
    CudaContext::device_count()
        .map(|n| n.max(0) as usize)
        .map_err(ctx_err!("counting CUDA devices"))
}

/// `name (cc X.Y, N GiB)` of every device (the GUI and `--device` errors list them).
pub fn list_devices() -> Result<Vec<String>> {
    let n = device_count()?;
    (0..n)
        .map(|i| {
            let ctx = CudaContext::new(i).map_err(ctx_err!("opening a CUDA device"))?;
            let name = ctx.name().map_err(ctx_err!("device name"))?;
            let (maj, min) = ctx.compute_capability().map_err(ctx_err!("capability"))?;
            let mem = ctx.total_mem().map_err(ctx_err!("device memory"))?;
            Ok(format!(
                "cuda:{i} {name} (cc {maj}.{min}, {:.0} GiB)",
                mem as f64 / 1073741824.0
            ))
        })
        .collect()
}

impl Gpu {
    /// Opens device `ordinal`, compiles the kernels for its architecture and loads them.
    pub fn open(ordinal: usize) -> Result<Arc<Gpu>> {
        require(&Lib::ALL)?;
        let n = device_count()?;
        if ordinal >= n {
            return Err(EngineError::Cuda(format!(
                "device cuda:{ordinal} does not exist ({n} CUDA device(s) found)"
            )));
        }
        let ctx = CudaContext::new(ordinal).map_err(ctx_err!("opening the device"))?;
        // One stream per device: no cross-stream event bookkeeping needed.
        // Safety: all work of this context is ordered on `stream`.
        unsafe { ctx.disable_event_tracking() };
        let name = ctx.name().map_err(ctx_err!("device name"))?;
        let cc = ctx.compute_capability().map_err(ctx_err!("capability"))?;
        let sms = ctx
            .attribute(
                cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
            )
            .map_err(ctx_err!("multiprocessor count"))?
            .max(1) as usize;
        let ptx = compile_ptx(arch_for(cc.0, cc.1)?)?;
        let module = ctx
            .load_module(Ptx::from_src(ptx))
            .map_err(ctx_err!("loading the kernels"))?;
        let mut funcs = HashMap::new();
        for k in KERNELS {
            let f = module.load_function(k).map_err(ctx_err!(k))?;
            funcs.insert(k, f);
        }
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone()).map_err(ctx_err!("cuBLAS"))?;
        Ok(Arc::new(Gpu {
            ordinal,
            name,
            compute_capability: cc,
            sms,
            ctx,
            stream,
            blas,
            funcs,
        }))
    }

    pub fn func(&self, name: &str) -> &CudaFunction {
        // KERNELS is checked against the sources by a test and all were loaded in `open`.
        &self.funcs[name]
    }

    /// (free, total) device memory in bytes.
    pub fn mem_info(&self) -> Result<(usize, usize)> {
        self.ctx.mem_get_info().map_err(ctx_err!("memory info"))
    }

    pub fn zeros<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits>(
        &self,
        n: usize,
    ) -> Result<CudaSlice<T>> {
        self.stream
            .alloc_zeros(n.max(1))
            .map_err(ctx_err!(format!("allocating {n} elements on the GPU")))
    }

    pub fn upload<T: cudarc::driver::DeviceRepr>(&self, host: &[T]) -> Result<CudaSlice<T>> {
        self.stream
            .clone_htod(host)
            .map_err(ctx_err!("copying to the GPU"))
    }

    pub fn sync(&self) -> Result<()> {
        self.stream.synchronize().map_err(ctx_err!("synchronizing"))
    }

    /// Row-major `y[n, out] = x[n, in] · w[out, in]ᵀ + beta · y`: bf16 x and w, f32 y,
    /// f32 accumulation. (Column-major cuBLAS sees yᵀ = w · xᵀ, hence op(w) = T.)
    #[allow(clippy::too_many_arguments)]
    pub fn linear(
        &self,
        x: &impl DevicePtr<u16>,
        w: &impl DevicePtr<u16>,
        y: &mut impl DevicePtrMut<f32>,
        n: usize,
        d_in: usize,
        d_out: usize,
        beta: f32,
    ) -> Result<()> {
        debug_assert!(x.len() >= n * d_in && w.len() >= d_out * d_in && y.len() >= n * d_out);
        let alpha = 1.0f32;
        let (xp, _gx) = x.device_ptr(&self.stream);
        let (wp, _gw) = w.device_ptr(&self.stream);
        let (yp, _gy) = y.device_ptr_mut(&self.stream);
        use blas_sys::cublasOperation_t::{CUBLAS_OP_N, CUBLAS_OP_T};
        use blas_sys::cudaDataType::{CUDA_R_16BF, CUDA_R_32F};
        // Safety: the pointers are live device buffers of at least the sizes checked above.
        unsafe {
            cudarc::cublas::result::gemm_ex(
                *self.blas.handle(),
                CUBLAS_OP_T,
                CUBLAS_OP_N,
                d_out as i32,
                n as i32,
                d_in as i32,
                &alpha as *const f32 as *const _,
                wp as *const _,
                CUDA_R_16BF,
                d_in as i32,
                xp as *const _,
                CUDA_R_16BF,
                d_in as i32,
                &beta as *const f32 as *const _,
                yp as *mut _,
                CUDA_R_32F,
                d_out as i32,
                blas_sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
                blas_sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
            )
        }
        .map_err(ctx_err!("cuBLAS GEMM"))
    }

    /// Launch config for `grid` blocks of `block` threads.
    pub fn cfg(grid: (u32, u32, u32), block: u32) -> LaunchConfig {
        LaunchConfig {
            grid_dim: grid,
            block_dim: (block, 1, 1),
            shared_mem_bytes: 0,
        }
    }
}
